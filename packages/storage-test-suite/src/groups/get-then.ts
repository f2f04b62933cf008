import assert from 'node:assert/strict'
import type { AnyStorage, Entry, SetOptions } from '@memokit/core'
import { GET_THEN, type GetThen } from '@memokit/core/backend'
import { type Ctx, clear, del, get, isThenable, now, type Suite, set } from '../harness'
import { metaValues, nestedValues, stringValues } from '../values'

const memberOf = (storage: AnyStorage): unknown => (storage as unknown as Record<symbol, unknown>)[GET_THEN]

/** Reads through the storage's GET_THEN, recording what reached each callback. */
async function readThen(storage: AnyStorage, ns: string, key: string) {
  const member = memberOf(storage) as GetThen
  const seen: { entries: (Entry | undefined)[]; errors: unknown[] } = { entries: [], errors: [] }
  const marker = { settled: 'by onEntry' }
  const result = member.call(
    storage,
    ns,
    key,
    (entry) => {
      seen.entries.push(entry)
      return marker
    },
    (error) => {
      seen.errors.push(error)
      return marker
    },
  )
  assert.ok(isThenable(result), 'GET_THEN must return a promise')
  assert.equal(await result, marker, "GET_THEN's promise must settle with what its callback returned")
  assert.equal(seen.entries.length + seen.errors.length, 1, 'exactly one callback, once')
  if (seen.errors.length > 0) throw seen.errors[0]
  return seen.entries[0]
}

/** After a step of the differential sequence: both reads agree on every key. */
async function agree(ctx: Ctx, keys: readonly string[], step: string): Promise<void> {
  for (const k of keys) {
    const plain = await get(ctx.storage, ctx.ns, k)
    const then = await readThen(ctx.storage, ctx.ns, k)
    assert.deepEqual(then, plain, `${step}: GET_THEN and get disagree on ${k}`)
  }
}

/**
 * Core's optional read-and-continue member (`GET_THEN` of `@memokit/core/backend`), when the options say
 * `getThen: true`: a second way to read must answer exactly what `get` answers, since core's hit path prefers it.
 * Without the option, only its absence is checked (so a storage that has it must claim it and be tested).
 */
export function getThenTests(s: Suite): void {
  if (s.options.getThen !== true) {
    s.describe('read-and-continue (not claimed)', () => {
      s.test('has no GET_THEN member', async ({ storage }) => {
        assert.equal(memberOf(storage), undefined, 'the storage has GET_THEN: pass getThen: true to test it')
      })
    })
    return
  }
  s.describe('read-and-continue (GET_THEN)', () => {
    s.test('hands onEntry what get returns, for every kind of value and meta', async (ctx) => {
      const { storage, ns } = ctx
      assert.equal(storage.async, true, 'GET_THEN is for async storages')
      assert.equal(typeof memberOf(storage), 'function', 'getThen: true, but the storage has no GET_THEN')
      const values: unknown[] = [...stringValues, ...nestedValues(), 0, null, true]
      const keys: string[] = []
      for (const [i, value] of values.entries()) {
        const meta = metaValues()[i % metaValues().length]
        const k = ctx.key()
        keys.push(k)
        await set(storage, ns, k, value, i % 2 === 0 ? { meta, ttl: 60_000 } : undefined)
      }
      keys.push(ctx.key('never-written'))
      await agree(ctx, keys, 'after writing')
      assert.equal(await readThen(storage, ns, keys[keys.length - 1] as string), undefined, 'a miss')
    })

    s.test('what onEntry throws rejects the promise; onError is not called for it', async (ctx) => {
      const { storage, ns } = ctx
      const k = ctx.key()
      await set(storage, ns, k, 'x')
      const thrown = new Error('from onEntry')
      let errors = 0
      const member = memberOf(storage) as GetThen
      const result = member.call(
        storage,
        ns,
        k,
        () => {
          throw thrown
        },
        () => {
          errors++
        },
      )
      await assert.rejects(result, (error) => error === thrown)
      assert.equal(errors, 0, 'onError was called for what onEntry threw')
    })

    s.test('agrees with get over random writes, deletes and clears', async (ctx) => {
      const { storage, ns } = ctx
      const keys = ['a', 'ab', 'b', 'ba'].map((label) => ctx.key(label))
      // A seeded sequence: a failure names its step, and the same steps run every time.
      let seed = 0x2545f491
      const next = (n: number): number => {
        seed = (seed * 1103515245 + 12345) >>> 0
        return seed % n
      }
      const pool = [...stringValues.slice(0, 6), ...nestedValues().slice(0, 4)]
      for (let step = 0; step < 60; step++) {
        const k = keys[next(keys.length)] as string
        const op = next(10)
        let label: string
        if (op < 6) {
          const options: SetOptions | undefined =
            next(2) === 0 ? undefined : { ttl: 60_000, meta: metaValues()[next(metaValues().length)] }
          await set(storage, ns, k, pool[next(pool.length)], options)
          label = `set ${k}`
        } else if (op < 8) {
          await del(storage, ns, k)
          label = `delete ${k}`
        } else if (op < 9) {
          await clear(storage, ns, k.slice(0, 1))
          label = `clear prefix ${k.slice(0, 1)}`
        } else {
          await clear(storage, ns)
          label = 'clear'
        }
        await agree(ctx, keys, `step ${step} (${label})`)
      }
    })

    s.waiting(
      'an expired entry is a miss both ways',
      async (ctx) => {
        const { storage, ns } = ctx
        const k = ctx.key()
        const start = now()
        await set(storage, ns, k, 'short', { ttl: s.ttl })
        await s.waitUntil(start, s.ttl + s.G + s.slack)
        assert.equal(await get(storage, ns, k), undefined, 'get after the ttl')
        assert.equal(await readThen(storage, ns, k), undefined, 'GET_THEN after the ttl')
      },
      s.waitingTimeout,
    )
  })
}
