import assert from 'node:assert/strict'
import { clear, del, get, isThenable, type Suite, set } from '../harness'

/** Concurrent writers and readers: no torn value, no lost write to distinct keys. */
export function concurrencyTests(s: Suite): void {
  s.describe('concurrency', () => {
    s.test('never shows a torn value to concurrent readers while many writers overwrite one key', async (ctx) => {
      const { storage, ns } = ctx
      const k = ctx.key()
      const writers = 16
      const values = Array.from({ length: writers }, (_, i) => ({
        writer: i,
        blob: `${String(i).padStart(4, '0')}-${'x'.repeat(20_000)}-${i}`,
        list: Array.from({ length: 200 }, () => i),
      }))
      const seen: unknown[] = []
      const reader = async (): Promise<void> => {
        for (let r = 0; r < 10; r++) {
          const entry = await get(storage, ns, k)
          if (entry !== undefined) seen.push(entry.value)
        }
      }
      const writer = async (i: number): Promise<void> => {
        for (let r = 0; r < 3; r++) await set(storage, ns, k, values[i])
      }
      await Promise.all([
        ...values.map((_, i) => writer(i)),
        ...Array.from({ length: 8 }, () => reader()),
        ...values.map((_, i) => writer(i)),
      ])
      const last = await get(storage, ns, k)
      assert.ok(last !== undefined, 'after all writes the key reads as a miss')
      seen.push(last.value)
      for (const value of seen) {
        const writer = (value as { writer?: unknown } | null)?.writer
        assert.ok(typeof writer === 'number' && writer >= 0 && writer < writers, 'read a value nobody wrote')
        assert.deepEqual(value, values[writer], `torn value for writer ${writer}`)
      }
    })

    s.test('handles many concurrent writes to different keys', async ({ storage, ns, key }) => {
      const keys = Array.from({ length: 100 }, () => key())
      await Promise.all(keys.map((k, i) => set(storage, ns, k, { i })))
      const entries = await Promise.all(keys.map((k) => get(storage, ns, k)))
      for (const [i, entry] of entries.entries()) assert.deepEqual(entry?.value, { i })
    })
  })
}

/**
 * Invalidations order after the writes already issued on the same storage object: a `delete` or `clear` called
 * while a `set` of that key is still under way must not resolve before it, or the old value lands afterwards and
 * stays until its TTL (a cached call's write racing `.delete()`/`.clear()`).
 */
export function orderingTests(s: Suite): void {
  s.describe('invalidation after writes already issued', () => {
    s.test('delete: once it resolves, a set issued before it never shows', async ({ storage, ns, key }) => {
      const rounds = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const k = key()
          // Half the keys exist already: overwriting in flight must be covered too, not just creating.
          if (i % 2 === 1) await set(storage, ns, k, { i, old: true })
          const write = set(storage, ns, k, { i })
          const removed = await del(storage, ns, k)
          const afterDelete = await get(storage, ns, k)
          await write
          const afterBoth = await get(storage, ns, k)
          return { k, removed, afterDelete, afterBoth }
        }),
      )
      for (const { k, removed, afterDelete, afterBoth } of rounds) {
        const hint = `key ${k}: a set issued before delete landed after it`
        assert.equal(afterDelete, undefined, hint)
        assert.equal(afterBoth, undefined, hint)
        assert.equal(removed, true, `key ${k}: delete issued after a set must find that set's entry`)
      }
    })

    s.test('clear: once it resolves, no set issued before it shows', async ({ storage, ns, key }) => {
      for (let round = 0; round < 5; round++) {
        const keys = Array.from({ length: 12 }, () => key())
        const writes = keys.map((k, i) => set(storage, ns, k, { round, i }))
        await clear(storage, ns)
        const early = await Promise.all(keys.map((k) => get(storage, ns, k)))
        await Promise.all(writes)
        const late = await Promise.all(keys.map((k) => get(storage, ns, k)))
        for (const [i, k] of keys.entries()) {
          assert.equal(early[i], undefined, `round ${round}, key ${k}: a set issued before clear landed after it`)
          assert.equal(late[i], undefined, `round ${round}, key ${k}: a set issued before clear landed after it`)
        }
      }
    })

    s.test('clear with a keyPrefix: once it resolves, no matching set issued before it shows', async (ctx) => {
      const { storage, ns } = ctx
      for (let round = 0; round < 5; round++) {
        const tag = ctx.key('r')
        const matching = Array.from({ length: 8 }, (_, i) => `fn:${tag}:${i}`)
        const others = Array.from({ length: 4 }, (_, i) => `fx:${tag}:${i}`)
        const writes = [...matching, ...others].map((k) => set(storage, ns, k, k))
        await clear(storage, ns, 'fn:')
        await Promise.all(writes)
        for (const k of matching) {
          assert.equal(await get(storage, ns, k), undefined, `${k}: a set issued before clear(ns, 'fn:') survived`)
        }
        for (const k of others) {
          assert.equal((await get(storage, ns, k))?.value, k, `${k}: clear(ns, 'fn:') removed a key outside it`)
        }
      }
    })
  })
}

/** close (optional in the contract). */
export function closeTests(s: Suite): void {
  s.describe('close', () => {
    s.test('resolves when present', async ({ storage, ns, key, closed }) => {
      await set(storage, ns, key(), 'x')
      if (typeof storage.close !== 'function') return
      const result = storage.close()
      if (storage.async) assert.ok(isThenable(result), 'an async storage must return a promise from close()')
      else assert.ok(!isThenable(result), 'a sync storage must not return a promise from close()')
      closed(storage)
      await result
    })
  })
}
