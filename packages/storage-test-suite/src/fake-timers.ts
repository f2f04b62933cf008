/**
 * A storage under the test runner's fake timers. A service's own tests often fake every timer (jest's default
 * `useFakeTimers()` fakes `queueMicrotask`, `setImmediate` and `process.nextTick` too); a storage that waits on one
 * of them to answer hangs there until the test moves the clock, though its server answered long before. Each call
 * here must settle within 2 s of real time, measured with the real `setTimeout` this module took when loaded.
 */
import assert from 'node:assert/strict'
import { type AnyStorage, cacheValue } from '@memokit/core'
import type { TestRunner } from './types'

export interface FakeTimersChecksOptions {
  /** Shown in the test name, e.g. `'redis over ioredis'`. */
  readonly name: string
  /**
   * Makes the storage to check, with real timers (a client may connect first); the check closes it (calls
   * `close()` if present). Clients you pass in stay yours to close.
   */
  readonly open: (options: { readonly prefix: string }) => AnyStorage | Promise<AnyStorage>
  /** Fakes the timers, e.g. `() => jest.useFakeTimers()`: called after the storage is open and has entries. */
  readonly fake: () => void
  /** Restores the real timers, e.g. `() => jest.useRealTimers()`: called before the storage is cleared and closed. */
  readonly restore: () => void
}

// Taken when this module loads, before any test fakes the clock.
const realSetTimeout = setTimeout
const realClearTimeout = clearTimeout
const LIMIT_MS = 2_000

async function settles<T>(what: string, work: T | Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = realSetTimeout(
      () =>
        reject(new assert.AssertionError({ message: `${what}: no answer within ${LIMIT_MS} ms under fake timers` })),
      LIMIT_MS,
    )
  })
  try {
    return await Promise.race([work, late])
  } finally {
    realClearTimeout(timer)
  }
}

/**
 * Registers one test: with the timers faked, a read of an entry, two reads in one tick, `getMany` (when the
 * storage has it), a `cacheValue` hit and a miss (computed once, then a hit) all answer.
 *
 * @example
 * runFakeTimersChecks({ describe, it }, { name: 'redis over ioredis', open: ({ prefix }) => redisStorage({ client, prefix }), fake: () => jest.useFakeTimers(), restore: () => jest.useRealTimers() })
 */
export function runFakeTimersChecks(runner: TestRunner, options: FakeTimersChecksOptions): void {
  const { name, open, fake, restore } = options
  runner.describe(`${name} under fake timers`, () => {
    runner.it(
      'answers reads, a cached hit and a miss without the clock moving',
      async () => {
        const storage = await open({ prefix: `faketimers-${process.pid}-${Date.now()}` })
        const ns = 'fake-timers'
        await storage.set(ns, 'a', { v: 1 })
        await storage.set(ns, 'b', { v: 2 })
        let runs = 0
        const cached = cacheValue(
          async (n: number) => {
            runs++
            return { n }
          },
          { storage, namespace: ns, name: 'cached', ttl: 60_000 },
        )
        assert.deepEqual(await cached(7), { n: 7 })
        fake()
        try {
          assert.deepEqual((await settles('get', storage.get(ns, 'a')))?.value, { v: 1 })
          const both = await settles('two gets in one tick', Promise.all([storage.get(ns, 'a'), storage.get(ns, 'b')]))
          assert.deepEqual(
            both.map((entry) => entry?.value),
            [{ v: 1 }, { v: 2 }],
          )
          if (storage.getMany !== undefined) {
            const many = await settles('getMany', storage.getMany(ns, ['b', 'a', 'none']))
            assert.deepEqual(
              many.map((entry) => entry?.value),
              [{ v: 2 }, { v: 1 }, undefined],
            )
          }
          assert.deepEqual(await settles('a cached hit', cached(7)), { n: 7 })
          assert.equal(runs, 1, 'the hit ran the function')
          assert.deepEqual(await settles('a miss', cached(8)), { n: 8 })
          assert.deepEqual(await settles('the hit after the miss', cached(8)), { n: 8 })
          assert.equal(runs, 2, 'the miss ran the function once, and its entry answered the next call')
        } finally {
          restore()
          // Bounded and quiet: a storage that hung above may hang here too, and the failure above is the one to see.
          await settles('clear', storage.clear(ns)).catch(() => undefined)
          await settles('close', (storage as { close?: () => unknown }).close?.()).catch(() => undefined)
        }
      },
      15_000,
    )
  })
}
