import assert from 'node:assert/strict'
import type { AnyStorage } from '@memokit/core'
import { type Ctx, clear, del, get, rand, type Suite, set } from '../harness'
import { metacharNamespaces, prefixSharingNamespaces, textNamespaces } from '../lists'

/** Fills every namespace, clears them one by one (in both orders) and checks the rest each time. */
async function clearEachLeavesOthers(ctx: Ctx, namespaces: readonly string[]): Promise<void> {
  const { storage } = ctx
  const tag = rand()
  // Two keys each, one with ":" so a pattern that is one segment too greedy shows up.
  const keyA = ctx.key('a')
  const keyB = `${ctx.key('b')}:*:x`
  for (const order of ['forward', 'reverse'] as const) {
    const list = order === 'forward' ? [...namespaces] : [...namespaces].reverse()
    for (const ns of list) {
      await set(storage, ns, keyA, { ns, tag })
      await set(storage, ns, keyB, { ns, tag, b: true })
    }
    for (const [i, cleared] of list.entries()) {
      await clear(storage, cleared)
      assert.equal(await get(storage, cleared, keyA), undefined, `clear(${JSON.stringify(cleared)}) left a key`)
      assert.equal(await get(storage, cleared, keyB), undefined, `clear(${JSON.stringify(cleared)}) left a key`)
      for (const ns of list.slice(i + 1)) {
        const a = await get(storage, ns, keyA)
        const b = await get(storage, ns, keyB)
        const hint = `clear(${JSON.stringify(cleared)}) removed or changed namespace ${JSON.stringify(ns)}`
        assert.deepEqual(a?.value, { ns, tag }, hint)
        assert.deepEqual(b?.value, { ns, tag, b: true }, hint)
      }
    }
  }
}

// Keys as core builds them: `<escaped function identity>:<encoded args>`.
const keyPrefixKeys = [
  'fn:a',
  'fn:',
  'fn::x',
  'fn:*',
  'fn',
  'fn2:a',
  'fnx:a',
  'f:a',
  'fn%3Ax:a',
  'FN:a',
  'a*:1',
  'ab:1',
  'a?:1',
  'a.:1',
  'ax:1',
  '[x]:1',
  'x:1',
  '^:1',
  '$:1',
  '\\:1',
  '%:1',
  '%25:1',
]
const keyPrefixes = ['fn:', 'fn%3Ax:', 'a*:', 'ab:', 'a?:', 'a.:', '[x]:', 'x:', '^:', '$:', '\\:', '%:']

/** clear(namespace) and clear(namespace, keyPrefix): exactly their entries, taken literally. */
export function clearTests(s: Suite): void {
  s.describe('clear', () => {
    s.test('removes every key of the namespace', async ({ storage, ns, key }) => {
      const keys = Array.from({ length: 30 }, () => key())
      for (const k of keys) await set(storage, ns, k, k)
      await clear(storage, ns)
      for (const k of keys) assert.equal(await get(storage, ns, k), undefined)
      // The namespace works as before afterwards.
      const k = key()
      await set(storage, ns, k, 'again')
      assert.equal((await get(storage, ns, k))?.value, 'again')
    })

    s.test('accepts a namespace that holds nothing', async ({ storage }) => {
      await clear(storage, `empty-${rand()}`)
    })

    s.test('with a keyPrefix removes only the keys that start with it, literally', async ({ storage, ns }) => {
      const other = `${ns}:other`
      for (const keyPrefix of keyPrefixes) {
        const tag = rand()
        for (const k of keyPrefixKeys) {
          await set(storage, ns, k, { k, tag })
          await set(storage, other, k, { k, tag })
        }
        await clear(storage, ns, keyPrefix)
        for (const k of keyPrefixKeys) {
          const gone = k.startsWith(keyPrefix)
          const entry = await get(storage, ns, k)
          const call = `clear(ns, ${JSON.stringify(keyPrefix)})`
          if (gone) assert.equal(entry, undefined, `${call} left key ${JSON.stringify(k)}`)
          else assert.deepEqual(entry?.value, { k, tag }, `${call} removed key ${JSON.stringify(k)}`)
          const elsewhere = await get(storage, other, k)
          assert.deepEqual(elsewhere?.value, { k, tag }, `${call} removed ${JSON.stringify(k)} in another namespace`)
        }
      }
      // An empty keyPrefix matches every key of the namespace, like no keyPrefix.
      await clear(storage, ns, '')
      for (const k of keyPrefixKeys) assert.equal(await get(storage, ns, k), undefined, `clear(ns, '') left ${k}`)
      assert.ok((await get(storage, other, 'fn:a')) !== undefined, "clear(ns, '') removed another namespace's key")
    })

    s.test('leaves namespaces that share a prefix (user, users, user:x, user\\x)', (ctx) =>
      clearEachLeavesOthers(ctx, prefixSharingNamespaces),
    )

    s.test('treats glob and regex metacharacters literally (a* vs ab, [x], ., $, ^, \\, %3A)', (ctx) =>
      clearEachLeavesOthers(ctx, metacharNamespaces),
    )

    s.test('handles empty, space, slash, dot-dot and unicode namespaces', (ctx) =>
      clearEachLeavesOthers(ctx, textNamespaces),
    )
  })
}

/** Storages with different prefixes on one server never see or clear each other's entries. */
export function prefixTests(s: Suite): void {
  s.describe('prefixes', () => {
    s.test('keeps storages with different prefixes apart (p, p:q, p*, ps, p?)', async (ctx) => {
      const base = `mk-suite-${rand()}`
      const prefixes = [base, `${base}:q`, `${base}*`, `${base}s`, `${base}?`, `${base}%3Aq`]
      const storages: AnyStorage[] = []
      for (const p of prefixes) storages.push(await ctx.open(p))
      const at = (i: number): AnyStorage => storages[i] as AnyStorage
      const ns = ctx.ns
      const k = ctx.key()
      const kq = `q:${k}`
      for (const order of ['forward', 'reverse'] as const) {
        const idx = prefixes.map((_, i) => i)
        if (order === 'reverse') idx.reverse()
        for (const i of idx) {
          await set(at(i), ns, k, { prefix: prefixes[i] })
          await set(at(i), ns, kq, { prefix: prefixes[i], q: true })
        }
        for (const i of idx) {
          const hint = `storage with prefix ${JSON.stringify(prefixes[i])} read another prefix's value`
          assert.deepEqual((await get(at(i), ns, k))?.value, { prefix: prefixes[i] }, hint)
        }
        for (const [pos, i] of idx.entries()) {
          await clear(at(i), ns)
          assert.equal(await get(at(i), ns, k), undefined)
          for (const j of idx.slice(pos + 1)) {
            const hint = `clear on prefix ${JSON.stringify(prefixes[i])} touched prefix ${JSON.stringify(prefixes[j])}`
            assert.deepEqual((await get(at(j), ns, k))?.value, { prefix: prefixes[j] }, hint)
            assert.deepEqual((await get(at(j), ns, kq))?.value, { prefix: prefixes[j], q: true }, hint)
          }
        }
      }
      // delete on one prefix leaves the others
      for (const [i, st] of storages.entries()) await set(st, ns, k, i)
      assert.equal(await del(at(0), ns, k), true)
      for (const [i, st] of storages.entries()) {
        if (i > 0) assert.equal((await get(st, ns, k))?.value, i, 'delete on one prefix touched another')
      }
    })
  })
}
