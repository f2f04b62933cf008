/**
 * What every test group of the suite shares: the resolved options, the per-test storage lifecycle and the untyped
 * storage calls. Runner-neutral: assertions use `node:assert/strict`.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { AnyStorage, Entry, SetOptions } from '@memokit/core'
import type { StorageContractOptions, StorageFactory, TestRunner } from './types'

/** The handles one test body gets. */
export interface Ctx {
  /** A storage created for this test with a random prefix. */
  readonly storage: AnyStorage
  /** The prefix `storage` was created with. */
  readonly prefix: string
  /** A random namespace for this test. */
  readonly ns: string
  /** A random key (unique within the test run). */
  key(label?: string): string
  /** Creates another storage for this test (closed by the suite), with the given or a fresh random prefix. */
  open(prefix?: string, factory?: StorageFactory): Promise<AnyStorage>
  /** Marks a storage as already closed, so the suite does not close it again. */
  closed(storage: AnyStorage): void
}

/** The suite's resolved settings and helpers, handed to every test group. */
export interface Suite {
  readonly options: StorageContractOptions
  readonly describe: TestRunner['describe']
  /** Registers a test whose body gets a fresh {@link Ctx}; every storage it opened is closed afterwards. */
  test(name: string, body: (ctx: Ctx) => Promise<void>, timeout?: number): void
  /** The same for a test that mostly waits on the real clock: beside the others (`concurrent`) when the runner can. */
  waiting(name: string, body: (ctx: Ctx) => Promise<void>, timeout?: number): void
  /** TTL resolution in ms (the `ttlGranularityMs` option). */
  readonly G: number
  /** The TTL expiry tests use, in ms. */
  readonly ttl: number
  /** Whether the clock is advanced (`advanceTime`) instead of really waited on. */
  readonly fakeTime: boolean
  /** Slack past a deadline for real timers, in ms. */
  readonly slack: number
  /** Tolerance of createdAt/expiresAt against the local clock, in ms. */
  readonly stampTolerance: number
  /** The timeout of a test that waits for expiry, in ms. */
  readonly waitingTimeout: number
  /** Waits (or advances the clock) until `ms` have passed since the `start` timestamp. */
  waitUntil(start: number, ms: number): Promise<void>
  /**
   * Asserts a ttl'd entry is still there, unless the runner was so slow that it may legitimately have expired
   * (real timers on a loaded machine): then it must be a miss, never a wrong value.
   */
  assertLiveUnlessLate(entry: Entry | undefined, value: unknown, start: number, when: string): void
  /** Closes every storage still open (the safety net of an `afterAll`). */
  closeAll(): Promise<void>
}

export const rand = (): string => randomBytes(6).toString('hex')
export const now = (): number => Date.now()

export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null &&
  (typeof value === 'object' || typeof value === 'function') &&
  typeof (value as { then?: unknown }).then === 'function'

const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, Math.max(0, ms))
  })

// Untyped views of the members: a union of sync and async signatures is awkward to call generically. Each calls
// the storage synchronously, so the order of calls is the order in which operations are issued.
export const get = async (s: AnyStorage, ns: string, key: string): Promise<Entry | undefined> => await s.get(ns, key)
export const set = async (
  s: AnyStorage,
  ns: string,
  key: string,
  value: unknown,
  options?: SetOptions,
): Promise<void> => {
  await s.set(ns, key, value, options)
}
export const del = async (s: AnyStorage, ns: string, key: string): Promise<boolean> => await s.delete(ns, key)
export const clear = async (s: AnyStorage, ns: string, keyPrefix?: string): Promise<void> => {
  if (keyPrefix === undefined) await s.clear(ns)
  else await s.clear(ns, keyPrefix)
}
export const add = async (
  s: AnyStorage,
  ns: string,
  key: string,
  value: unknown,
  options?: SetOptions,
): Promise<boolean> => {
  assert.equal(typeof s.add, 'function', 'the storage has no add()')
  return await (s.add as NonNullable<AnyStorage['add']>)(ns, key, value, options)
}

/** Builds the {@link Suite} of one `runStorageContract` call. */
export function createSuite(runner: TestRunner, options: StorageContractOptions): Suite {
  const { create, ttlGranularityMs: G = 1, advanceTime } = options
  const fakeTime = advanceTime !== undefined
  const roundUp = (ms: number): number => Math.ceil(ms / G) * G
  // The TTL of expiry tests: short when we really wait, a round second when the clock is ours.
  const ttl = fakeTime ? roundUp(Math.max(1000, 2 * G)) : roundUp(Math.max(60, 2 * G))

  const open = new Set<AnyStorage>()
  const closeStorage = async (storage: AnyStorage): Promise<void> => {
    open.delete(storage)
    if (typeof storage.close === 'function') await storage.close()
  }
  const createStorage = async (prefix: string, factory: StorageFactory): Promise<AnyStorage> => {
    const storage = await factory({ prefix })
    assert.ok(storage !== null && typeof storage === 'object', `create() must return a storage, got ${storage}`)
    open.add(storage)
    return storage
  }

  /** Runs one test body with its own storages, closing every one of them even when the body fails. */
  const withStorage = (body: (ctx: Ctx) => Promise<void>) => async (): Promise<void> => {
    const mine: AnyStorage[] = []
    const alreadyClosed = new Set<AnyStorage>()
    const run = rand()
    let n = 0
    let failure: unknown
    let failed = false
    try {
      const prefix = `mk-suite-${run}`
      const storage = await createStorage(prefix, create)
      mine.push(storage)
      await body({
        storage,
        prefix,
        ns: `ns-${rand()}`,
        key: (label = 'k') => `${label}-${run}-${n++}`,
        open: async (p = `mk-suite-${rand()}`, factory = create) => {
          const s = await createStorage(p, factory)
          mine.push(s)
          return s
        },
        closed: (s) => {
          alreadyClosed.add(s)
          open.delete(s)
        },
      })
    } catch (error) {
      failed = true
      failure = error
    }
    for (const s of mine) {
      if (alreadyClosed.has(s)) continue
      try {
        await closeStorage(s)
      } catch (error) {
        if (!failed) {
          failed = true
          failure = error
        }
      }
    }
    if (failed) throw failure
  }

  return {
    options,
    describe: runner.describe,
    test: (name, body, timeout) => runner.it(name, withStorage(body), timeout),
    // On an advanced clock nothing waits, and the clock is shared: one at a time.
    waiting: (name, body, timeout) =>
      (fakeTime || runner.concurrent === undefined ? runner.it : runner.concurrent)(name, withStorage(body), timeout),
    G,
    ttl,
    fakeTime,
    // Real timers fire late under load and servers expire on their own clock: allow some slack past the deadline.
    slack: fakeTime ? 0 : 40,
    // Servers may stamp entries themselves.
    stampTolerance: G + (fakeTime ? 0 : 50),
    waitingTimeout: 20_000 + 8 * ttl,
    async waitUntil(start, ms) {
      const remaining = start + ms - now()
      if (remaining <= 0) return
      if (advanceTime !== undefined) await advanceTime(remaining)
      else await realSleep(remaining)
    },
    assertLiveUnlessLate(entry, value, start, when) {
      if (entry === undefined) {
        const elapsed = now() - start
        assert.ok(elapsed >= ttl - G, `${when}: expired after ${elapsed} ms, before its ttl of ${ttl} ms (- ${G} ms)`)
      } else {
        assert.deepEqual(entry.value, value, `${when}: wrong value`)
      }
    },
    async closeAll() {
      for (const s of [...open]) await closeStorage(s).catch(() => undefined)
    },
  }
}
