import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { AnyStorage, Entry, SetOptions } from '@memokit/core'
import { allBytes, nestedValues, numberValues, offsetBytesView, richValues, stringValues } from './values'

/**
 * The functions of a test runner the suite registers its tests with. Jest's and vitest's globals fit as they are;
 * `node:test` fits too (pass its `before`/`after` as `beforeAll`/`afterAll`, or as `before`/`after`).
 */
export interface TestRunner {
  /** Groups tests, e.g. jest's or node:test's `describe`. */
  describe(name: string, fn: () => void): void
  /**
   * Registers one test; `timeout` is in ms (runners that take no timeout argument ignore it). The suite only
   * passes async functions, so `fn` is typed `() => Promise<void>`: that is what lets jest's and node:test's
   * `it` (which reject a plain `() => unknown`) type-check as a `TestRunner`.
   */
  it(name: string, fn: () => Promise<void>, timeout?: number): void
  /** Runs once before the tests of the enclosing `describe`. Optional. */
  beforeAll?(fn: () => Promise<void>, timeout?: number): void
  /** Runs once after the tests of the enclosing `describe`; the suite closes leftover storages here. Optional. */
  afterAll?(fn: () => Promise<void>, timeout?: number): void
  /** node:test's name for `beforeAll`; used when `beforeAll` is absent. */
  before?(fn: () => Promise<void>): void
  /** node:test's name for `afterAll`; used when `afterAll` is absent. */
  after?(fn: () => Promise<void>): void
}

/** What the suite needs to know about the storage under test. */
export interface StorageContractOptions {
  /** Label of the top-level `describe`, e.g. `'redis (standalone)'`. */
  readonly name: string
  /**
   * Creates a storage. Called once or more per test, each time with a fresh random `prefix` (prefixes of one test
   * may extend each other, e.g. `p` and `p:q`); storages that share a server must keep prefixes apart.
   * The suite closes every storage it created (calls `close()` if present).
   */
  readonly create: (options: { readonly prefix: string }) => AnyStorage | Promise<AnyStorage>
  /**
   * The storage's TTL resolution in ms: expiry may come up to this much late (or early, when rounded).
   * Default: 1. Use 1000 for storages that only store whole seconds (memcached).
   */
  readonly ttlGranularityMs?: number
  /**
   * Moves the clock forward by `ms` (e.g. `(ms) => jest.advanceTimersByTime(ms)` for a storage that reads
   * `Date.now()`). Default: really wait; the TTLs used are then small (60 ms, or twice the granularity).
   */
  readonly advanceTime?: (ms: number) => void | Promise<void>
}

/** The runner-neutral handles the suite uses internally. */
interface Ctx {
  /** A storage created for this test with a random prefix. */
  readonly storage: AnyStorage
  /** A random namespace for this test. */
  readonly ns: string
  /** A random key (unique within the test run). */
  key(label?: string): string
  /** Creates another storage for this test (closed by the suite), with the given or a fresh random prefix. */
  open(prefix?: string): Promise<AnyStorage>
  /** Marks a storage as already closed, so the suite does not close it again. */
  closed(storage: AnyStorage): void
  /** The prefix `storage` was created with. */
  readonly prefix: string
}

const rand = (): string => randomBytes(6).toString('hex')

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null &&
  (typeof value === 'object' || typeof value === 'function') &&
  typeof (value as { then?: unknown }).then === 'function'

const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, Math.max(0, ms))
  })

// Untyped views of the members: a union of sync and async signatures is awkward to call generically.
const get = async (s: AnyStorage, ns: string, key: string): Promise<Entry | undefined> => await s.get(ns, key)
const set = async (s: AnyStorage, ns: string, key: string, value: unknown, options?: SetOptions): Promise<void> => {
  await s.set(ns, key, value, options)
}
const del = async (s: AnyStorage, ns: string, key: string): Promise<boolean> => await s.delete(ns, key)
const clear = async (s: AnyStorage, ns: string, keyPrefix?: string): Promise<void> => {
  if (keyPrefix === undefined) await s.clear(ns)
  else await s.clear(ns, keyPrefix)
}
const add = async (s: AnyStorage, ns: string, key: string, value: unknown, options?: SetOptions): Promise<boolean> => {
  assert.equal(typeof s.add, 'function', 'the storage has no add()')
  return await (s.add as NonNullable<AnyStorage['add']>)(ns, key, value, options)
}

/** Namespaces that share a prefix with each other: clearing one must leave the others. */
const prefixSharingNamespaces: readonly string[] = [
  'user',
  'users',
  'user:x',
  'user:',
  'user\\x',
  'user%3Ax',
  'User',
  'USER',
  'use',
  'u',
]

/** Namespaces with glob, regex and escape metacharacters: none may act as a pattern. */
const metacharNamespaces: readonly string[] = [
  'a*',
  'ab',
  'a?',
  'a',
  '*',
  '?',
  '[x]',
  'x',
  '[ab]',
  'a[b]',
  '{a,b}',
  '.',
  'a.b',
  'axb',
  '.*',
  '$',
  '^',
  '^a',
  'a+',
  '(x)',
  'a|b',
  '\\',
  '\\*',
  '%',
  '%3A',
  '%25',
  ':',
  'a:b',
  'a%3Ab',
]

/** Namespaces made of spaces, separators and non-ASCII text. */
const textNamespaces: readonly string[] = [
  '',
  ' ',
  'a b',
  ' a',
  'ü',
  'u\u0308',
  '日本',
  '😀',
  '/',
  'a/b',
  '..',
  '../x',
  'tab\there',
  'new\nline',
]

/** Keys with characters that break naive physical key building. */
const weirdKeys: readonly string[] = [
  ':',
  '::',
  'a:b:c',
  '*',
  'a*',
  '?',
  '[x]',
  '\n',
  'line1\nline2',
  '\r\n',
  '\u0000',
  ' ',
  'a b',
  '%',
  '%3A',
  '%25',
  '/',
  '..',
  '../../etc',
  '\\',
  'ü',
  '😀',
  'Ab',
  'aB',
  'ab',
  'k'.repeat(300),
  `${'k'.repeat(299)}K`,
]

/**
 * Registers the storage contract tests for one storage with the given test runner. Every test creates its own
 * storages (random prefix) and namespaces and closes what it created; nothing depends on test order.
 *
 * @example
 * import { describe, it, beforeAll, afterAll } from '@jest/globals'
 * runStorageContract({ describe, it, beforeAll, afterAll }, { name: 'memory', create: () => memoryStorage() })
 */
export function runStorageContract(runner: TestRunner, options: StorageContractOptions): void {
  const { name, create, ttlGranularityMs = 1, advanceTime } = options
  if (typeof name !== 'string' || name === '') throw new TypeError('runStorageContract: name must be a string')
  if (typeof create !== 'function') throw new TypeError('runStorageContract: create must be a function')
  if (!(Number.isFinite(ttlGranularityMs) && ttlGranularityMs >= 1)) {
    throw new TypeError(`runStorageContract: ttlGranularityMs must be a number >= 1 (ms), got ${ttlGranularityMs}`)
  }
  if (advanceTime !== undefined && typeof advanceTime !== 'function') {
    throw new TypeError('runStorageContract: advanceTime must be a function (ms) => void | Promise<void>')
  }
  const { describe, it } = runner
  const afterAll = runner.afterAll ?? runner.after
  const G = ttlGranularityMs
  const fakeTime = advanceTime !== undefined
  const roundUp = (ms: number): number => Math.ceil(ms / G) * G
  // The TTL of expiry tests: short when we really wait, a round second when the clock is ours.
  const ttl = fakeTime ? roundUp(Math.max(1000, 2 * G)) : roundUp(Math.max(60, 2 * G))
  // Real timers fire late under load and servers expire on their own clock: allow some slack past the deadline.
  const slack = fakeTime ? 0 : 40
  // Tolerance of createdAt/expiresAt against the local clock (servers may stamp entries themselves).
  const stampTolerance = G + (fakeTime ? 0 : 50)
  const waitingTimeout = 20_000 + 8 * ttl

  const now = (): number => Date.now()
  /** Waits (or advances the clock) until `ms` have passed since the `start` timestamp. */
  const waitUntil = async (start: number, ms: number): Promise<void> => {
    const remaining = start + ms - now()
    if (remaining <= 0) return
    if (advanceTime !== undefined) await advanceTime(remaining)
    else await realSleep(remaining)
  }

  const open = new Set<AnyStorage>()
  const closeStorage = async (storage: AnyStorage): Promise<void> => {
    open.delete(storage)
    if (typeof storage.close === 'function') await storage.close()
  }
  const createStorage = async (prefix: string): Promise<AnyStorage> => {
    const storage = await create({ prefix })
    assert.ok(storage !== null && typeof storage === 'object', `create() must return a storage, got ${storage}`)
    open.add(storage)
    return storage
  }

  /** Wraps a test body: creates its storage, runs it, closes every storage it opened even when it fails. */
  const withStorage = (body: (ctx: Ctx) => Promise<void>) => async (): Promise<void> => {
    const mine: AnyStorage[] = []
    const alreadyClosed = new Set<AnyStorage>()
    const run = rand()
    let n = 0
    let failure: unknown
    let failed = false
    try {
      const prefix = `mk-suite-${run}`
      const storage = await createStorage(prefix)
      mine.push(storage)
      await body({
        storage,
        prefix,
        ns: `ns-${rand()}`,
        key: (label = 'k') => `${label}-${run}-${n++}`,
        open: async (p = `mk-suite-${rand()}`) => {
          const s = await createStorage(p)
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

  /** Writes each value under its own key, then reads each back and compares. */
  const roundTrip = async (ctx: Ctx, values: readonly unknown[], check = assertSameValue): Promise<void> => {
    const keys = values.map(() => ctx.key('v'))
    for (let i = 0; i < values.length; i++) await set(ctx.storage, ctx.ns, keys[i] as string, values[i])
    for (let i = 0; i < values.length; i++) {
      const entry = await get(ctx.storage, ctx.ns, keys[i] as string)
      assert.ok(entry !== undefined, `value #${i} (${describeValue(values[i])}) was written but reads as a miss`)
      check(entry.value, values[i], `value #${i} (${describeValue(values[i])})`)
    }
  }

  /**
   * Asserts a ttl'd entry is still there, unless the runner was so slow that it may legitimately have expired
   * (real timers on a loaded machine): then it must be a miss, never a wrong value.
   */
  const assertLiveUnlessLate = (entry: Entry | undefined, value: unknown, start: number, when: string): void => {
    if (entry === undefined) {
      const elapsed = now() - start
      assert.ok(elapsed >= ttl - G, `${when}: expired after ${elapsed} ms, before its ttl of ${ttl} ms (- ${G} ms)`)
    } else {
      assert.deepEqual(entry.value, value, `${when}: wrong value`)
    }
  }

  describe(`storage contract: ${name}`, () => {
    if (afterAll !== undefined) {
      // Safety net for tests the runner abandoned on timeout: their storages would keep the process alive.
      afterAll(async () => {
        for (const s of [...open]) await closeStorage(s).catch(() => undefined)
      })
    }

    describe('shape', () => {
      it(
        'has a name and an async flag',
        withStorage(async ({ storage }) => {
          assert.equal(typeof storage.name, 'string')
          assert.ok(storage.name.length > 0, 'name must not be empty')
          assert.equal(typeof storage.async, 'boolean')
          for (const m of ['get', 'set', 'delete', 'clear'] as const) assert.equal(typeof storage[m], 'function', m)
          if (storage.add !== undefined) assert.equal(typeof storage.add, 'function', 'add')
          if (storage.close !== undefined) assert.equal(typeof storage.close, 'function', 'close')
        }),
      )

      it(
        'answers with plain values when sync and with promises when async',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
          const results: Array<[string, unknown]> = []
          results.push(['set', storage.set(ns, k, 1)])
          if (storage.async) await results[0]?.[1]
          results.push(['get', storage.get(ns, k)])
          results.push(['get (miss)', storage.get(ns, key())])
          if (storage.add !== undefined) results.push(['add', storage.add(ns, key(), 2)])
          results.push(['delete', storage.delete(ns, k)])
          results.push(['clear', storage.clear(ns)])
          for (const [op, result] of results) {
            if (storage.async) {
              assert.ok(isThenable(result), `async storage: ${op}() must return a promise`)
              await result
            } else {
              assert.ok(!isThenable(result), `sync storage: ${op}() must not return a promise`)
            }
          }
          if (!storage.async) {
            const k2 = key()
            storage.set(ns, k2, 'sync')
            const entry = storage.get(ns, k2) as Entry | undefined
            assert.equal(entry?.value, 'sync', 'a sync storage must return the entry directly')
          }
        }),
      )
    })

    describe('reads and writes', () => {
      it(
        'returns undefined on a miss',
        withStorage(async ({ storage, ns, key }) => {
          assert.equal(await get(storage, ns, key()), undefined)
          assert.equal(await get(storage, `never-${rand()}`, key()), undefined)
          // Same key under another namespace is a miss too.
          const k = key()
          await set(storage, ns, k, 'x')
          assert.equal(await get(storage, `${ns}-other`, k), undefined)
        }),
      )

      it(
        'round-trips strings (empty, unicode, long)',
        withStorage((ctx) => roundTrip(ctx, stringValues)),
      )
      it(
        'round-trips numbers (-0, NaN, ±Infinity, extremes)',
        withStorage((ctx) => roundTrip(ctx, numberValues)),
      )
      it(
        'round-trips booleans',
        withStorage((ctx) => roundTrip(ctx, [true, false])),
      )
      it(
        'round-trips null',
        withStorage((ctx) => roundTrip(ctx, [null])),
      )
      it(
        'round-trips nested objects and arrays',
        withStorage((ctx) => roundTrip(ctx, nestedValues())),
      )
      for (const [kind, values] of Object.entries(richValues())) {
        it(
          `round-trips ${kind}`,
          withStorage((ctx) => roundTrip(ctx, values)),
        )
      }

      it(
        'stores undefined as a hit whose value is undefined, distinct from a miss',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
          await set(storage, ns, k, undefined)
          const entry = await get(storage, ns, k)
          assert.notEqual(entry, undefined, 'a cached undefined must read as an entry, not as a miss')
          assert.ok(entry !== undefined && 'value' in entry, 'the entry must have a value property')
          assert.equal(entry?.value, undefined)
          assert.equal(await get(storage, ns, key()), undefined)
        }),
      )

      it(
        'round-trips Uint8Array with all 256 byte values (also a view at an offset)',
        withStorage((ctx) => roundTrip(ctx, [allBytes(), offsetBytesView(), new Uint8Array(0)], assertSameBytes)),
      )

      it(
        'round-trips Buffer with all 256 byte values as a Buffer',
        withStorage((ctx) =>
          roundTrip(ctx, [Buffer.from(allBytes()), Buffer.from('ü😀'), Buffer.alloc(0)], assertSameBytes),
        ),
      )

      it(
        'stamps createdAt with the write time and expiresAt as createdAt + ttl',
        withStorage(async ({ storage, ns, key }) => {
          const k1 = key()
          const k2 = key()
          const k3 = key()
          const before = now()
          await set(storage, ns, k1, 'no ttl')
          await set(storage, ns, k2, 'ttl', { ttl: 100 * ttl })
          await set(storage, ns, k3, 'explicit undefined ttl', { ttl: undefined })
          const after = now()
          for (const k of [k1, k2, k3]) {
            const entry = await get(storage, ns, k)
            assert.ok(entry !== undefined, 'written entry reads as a miss')
            assert.equal(typeof entry.createdAt, 'number')
            assert.ok(
              entry.createdAt >= before - stampTolerance && entry.createdAt <= after + stampTolerance,
              `createdAt ${entry.createdAt} not within [${before}, ${after}] ± ${stampTolerance} ms`,
            )
          }
          assert.equal((await get(storage, ns, k1))?.expiresAt, undefined, 'no ttl: expiresAt must be undefined')
          assert.equal((await get(storage, ns, k3))?.expiresAt, undefined, 'ttl undefined: expiresAt undefined')
          const withTtl = await get(storage, ns, k2)
          assert.ok(withTtl !== undefined && typeof withTtl.expiresAt === 'number', 'expiresAt must be a number')
          const expected = withTtl.createdAt + 100 * ttl
          assert.ok(
            Math.abs((withTtl.expiresAt as number) - expected) <= G,
            `expiresAt ${withTtl.expiresAt} should be createdAt + ttl = ${expected} (± ${G} ms)`,
          )
        }),
      )

      it(
        'overwrites a value',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
          await set(storage, ns, k, { version: 1 })
          await set(storage, ns, k, { version: 2, more: ['x'] })
          assert.deepEqual((await get(storage, ns, k))?.value, { version: 2, more: ['x'] })
          await set(storage, ns, k, 'now a string')
          assert.equal((await get(storage, ns, k))?.value, 'now a string')
        }),
      )

      it(
        'keeps keys with special characters apart (":", "*", newline, 300 chars, case)',
        withStorage(async ({ storage, ns }) => {
          const tag = rand()
          for (const [i, k] of weirdKeys.entries()) await set(storage, ns, k, { i, tag })
          for (const [i, k] of weirdKeys.entries()) {
            const entry = await get(storage, ns, k)
            assert.deepEqual(entry?.value, { i, tag }, `key ${JSON.stringify(k)} read back wrong`)
          }
          assert.equal(await del(storage, ns, ':'), true)
          assert.equal(await get(storage, ns, ':'), undefined)
          assert.deepEqual((await get(storage, ns, '::'))?.value, { i: 1, tag }, 'deleting ":" touched "::"')
          await clear(storage, ns)
        }),
      )
    })

    describe('delete', () => {
      it(
        'returns true for a present key and removes it',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
          const other = key()
          await set(storage, ns, k, 'v')
          await set(storage, ns, other, 'stays')
          assert.equal(await del(storage, ns, k), true)
          assert.equal(await get(storage, ns, k), undefined)
          assert.equal((await get(storage, ns, other))?.value, 'stays', 'delete removed another key')
          assert.equal(await del(storage, ns, k), false, 'a second delete must return false')
        }),
      )

      it(
        'returns false for a missing key',
        withStorage(async ({ storage, ns, key }) => {
          assert.equal(await del(storage, ns, key()), false)
          assert.equal(await del(storage, `never-${rand()}`, key()), false)
        }),
      )

      it(
        'deletes only in the given namespace',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
          await set(storage, ns, k, 'a')
          await set(storage, `${ns}:b`, k, 'b')
          assert.equal(await del(storage, `${ns}:b`, k), true)
          assert.equal((await get(storage, ns, k))?.value, 'a')
        }),
      )
    })

    describe(`TTL (${ttl} ms, granularity ${G} ms, ${fakeTime ? 'advanced clock' : 'real waiting'})`, () => {
      it(
        'keeps an entry until its ttl and drops it after',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
          const forever = key()
          const start = now()
          await set(storage, ns, k, 'short-lived', { ttl })
          await set(storage, ns, forever, 'forever')
          assertLiveUnlessLate(await get(storage, ns, k), 'short-lived', start, 'right after the write')
          // "Shortly before": halfway through the part of the ttl that granularity can't eat.
          await waitUntil(start, (ttl - G) / 2)
          assertLiveUnlessLate(await get(storage, ns, k), 'short-lived', start, 'shortly before the ttl')
          await waitUntil(start, ttl + G + slack)
          assert.equal(await get(storage, ns, k), undefined, `still there ${now() - start} ms after a ${ttl} ms ttl`)
          assert.equal(await del(storage, ns, k), false, 'deleting an expired entry must return false')
          assert.equal((await get(storage, ns, forever))?.value, 'forever', 'an entry without ttl expired')
        }),
        waitingTimeout,
      )

      it(
        'restarts the expiry on overwrite without ttl',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
          const start = now()
          await set(storage, ns, k, 'first', { ttl })
          await set(storage, ns, k, 'second')
          await waitUntil(start, ttl + G + slack)
          const entry = await get(storage, ns, k)
          assert.equal(entry?.value, 'second', 'an overwrite without ttl must not keep the old expiry')
          assert.equal(entry?.expiresAt, undefined)
        }),
        waitingTimeout,
      )

      it(
        'restarts the expiry on overwrite with a longer ttl',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
          const longer = 10 * ttl
          const start = now()
          await set(storage, ns, k, 'first', { ttl })
          await set(storage, ns, k, 'second', { ttl: longer })
          await waitUntil(start, ttl + G + slack)
          const entry = await get(storage, ns, k)
          assert.equal(entry?.value, 'second', 'an overwrite with a longer ttl must survive the first ttl')
          assert.ok(typeof entry?.expiresAt === 'number' && entry.expiresAt >= start + longer - G)
          if (fakeTime) {
            // Only with our own clock: really waiting out the longer ttl would slow every run.
            await waitUntil(start, longer + G + slack + 1)
            assert.equal(await get(storage, ns, k), undefined, 'the longer ttl never expired')
          }
        }),
        waitingTimeout,
      )

      it(
        'restarts the expiry on overwrite with a shorter ttl',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
          const start = now()
          await set(storage, ns, k, 'first', { ttl: 20 * ttl })
          await set(storage, ns, k, 'second', { ttl })
          await waitUntil(start, ttl + G + slack)
          assert.equal(await get(storage, ns, k), undefined, 'an overwrite with a shorter ttl kept the old one')
        }),
        waitingTimeout,
      )
    })

    describe('add', () => {
      it(
        'writes when absent (true) and refuses when present (false)',
        withStorage(async ({ storage, ns, key }) => {
          if (storage.add === undefined) return // add is optional: a storage without it has nothing to check here
          const k = key()
          assert.equal(await add(storage, ns, k, 'first'), true, 'add on an absent key must write')
          assert.equal((await get(storage, ns, k))?.value, 'first')
          assert.equal(await add(storage, ns, k, 'second'), false, 'add on a present key must refuse')
          assert.equal((await get(storage, ns, k))?.value, 'first', 'a refused add changed the value')
          // A refusal in another namespace must not happen: same key, other namespace, is absent.
          assert.equal(await add(storage, `${ns}-other`, k, 'other ns'), true)
          const u = key()
          assert.equal(await add(storage, ns, u, undefined), true)
          assert.equal(await add(storage, ns, u, 'x'), false, 'a cached undefined counts as present')
        }),
      )

      it(
        'writes again after delete',
        withStorage(async ({ storage, ns, key }) => {
          if (storage.add === undefined) return // add is optional
          const k = key()
          assert.equal(await add(storage, ns, k, 'first'), true)
          assert.equal(await del(storage, ns, k), true)
          assert.equal(await add(storage, ns, k, 'second'), true, 'add after delete must write')
          assert.equal((await get(storage, ns, k))?.value, 'second')
        }),
      )

      it(
        'honours ttl and writes again after expiry',
        withStorage(async ({ storage, ns, key }) => {
          if (storage.add === undefined) return // add is optional
          const k = key()
          const start = now()
          assert.equal(await add(storage, ns, k, 'first', { ttl }), true)
          const entry = await get(storage, ns, k)
          assertLiveUnlessLate(entry, 'first', start, 'right after add')
          if (entry !== undefined) assert.ok(typeof entry.expiresAt === 'number', 'add with ttl must set expiresAt')
          await waitUntil(start, ttl + G + slack)
          assert.equal(await get(storage, ns, k), undefined, 'an entry written by add did not expire')
          assert.equal(await add(storage, ns, k, 'second'), true, 'add after expiry must write')
          assert.equal((await get(storage, ns, k))?.value, 'second')
        }),
        waitingTimeout,
      )

      it(
        'lets exactly one of many concurrent adds on one key win',
        withStorage(async ({ storage, ns, key }) => {
          if (storage.add === undefined) return // add is optional
          for (let round = 0; round < 3; round++) {
            const k = key()
            const contenders = Array.from({ length: 25 }, (_, i) => ({ round, contender: i }))
            const results = await Promise.all(contenders.map((v) => add(storage, ns, k, v)))
            const winners = results.flatMap((won, i) => (won ? [i] : []))
            assert.equal(winners.length, 1, `expected exactly one winner, got ${winners.length}`)
            assert.deepEqual((await get(storage, ns, k))?.value, contenders[winners[0] as number])
          }
        }),
      )
    })

    describe('clear', () => {
      const clearEachLeavesOthers = async (ctx: Ctx, namespaces: readonly string[]): Promise<void> => {
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

      it(
        'removes every key of the namespace',
        withStorage(async ({ storage, ns, key }) => {
          const keys = Array.from({ length: 30 }, () => key())
          for (const k of keys) await set(storage, ns, k, k)
          await clear(storage, ns)
          for (const k of keys) assert.equal(await get(storage, ns, k), undefined)
          // The namespace works as before afterwards.
          const k = key()
          await set(storage, ns, k, 'again')
          assert.equal((await get(storage, ns, k))?.value, 'again')
        }),
      )

      it(
        'accepts a namespace that holds nothing',
        withStorage(async ({ storage }) => {
          await clear(storage, `empty-${rand()}`)
        }),
      )

      it(
        'with a keyPrefix removes only the keys that start with it, literally',
        withStorage(async ({ storage, ns }) => {
          const other = `${ns}:other`
          // Keys as core builds them: `<escaped function identity>:<encoded args>`.
          const keys = [
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
          const prefixes = ['fn:', 'fn%3Ax:', 'a*:', 'ab:', 'a?:', 'a.:', '[x]:', 'x:', '^:', '$:', '\\:', '%:']
          for (const keyPrefix of prefixes) {
            const tag = rand()
            for (const k of keys) {
              await set(storage, ns, k, { k, tag })
              await set(storage, other, k, { k, tag })
            }
            await clear(storage, ns, keyPrefix)
            for (const k of keys) {
              const gone = k.startsWith(keyPrefix)
              const entry = await get(storage, ns, k)
              const call = `clear(ns, ${JSON.stringify(keyPrefix)})`
              if (gone) assert.equal(entry, undefined, `${call} left key ${JSON.stringify(k)}`)
              else assert.deepEqual(entry?.value, { k, tag }, `${call} removed key ${JSON.stringify(k)}`)
              const elsewhere = await get(storage, other, k)
              assert.deepEqual(
                elsewhere?.value,
                { k, tag },
                `${call} removed ${JSON.stringify(k)} in another namespace`,
              )
            }
          }
          // An empty keyPrefix matches every key of the namespace, like no keyPrefix.
          await clear(storage, ns, '')
          for (const k of keys) assert.equal(await get(storage, ns, k), undefined, `clear(ns, '') left ${k}`)
          assert.ok((await get(storage, other, 'fn:a')) !== undefined, "clear(ns, '') removed another namespace's key")
        }),
      )

      it(
        'leaves namespaces that share a prefix (user, users, user:x, user\\x)',
        withStorage((ctx) => clearEachLeavesOthers(ctx, prefixSharingNamespaces)),
      )

      it(
        'treats glob and regex metacharacters literally (a* vs ab, [x], ., $, ^, \\, %3A)',
        withStorage((ctx) => clearEachLeavesOthers(ctx, metacharNamespaces)),
      )

      it(
        'handles empty, space, slash, dot-dot and unicode namespaces',
        withStorage((ctx) => clearEachLeavesOthers(ctx, textNamespaces)),
      )
    })

    describe('prefixes', () => {
      it(
        'keeps storages with different prefixes apart (p, p:q, p*, ps, p?)',
        withStorage(async (ctx) => {
          const base = `mk-suite-${rand()}`
          const prefixes = [base, `${base}:q`, `${base}*`, `${base}s`, `${base}?`, `${base}%3Aq`]
          const storages = [] as AnyStorage[]
          for (const p of prefixes) storages.push(await ctx.open(p))
          const ns = ctx.ns
          const k = ctx.key()
          const kq = `q:${k}`
          for (const order of ['forward', 'reverse'] as const) {
            const idx = prefixes.map((_, i) => i)
            if (order === 'reverse') idx.reverse()
            for (const i of idx) {
              await set(storages[i] as AnyStorage, ns, k, { prefix: prefixes[i] })
              await set(storages[i] as AnyStorage, ns, kq, { prefix: prefixes[i], q: true })
            }
            for (const i of idx) {
              const hint = `storage with prefix ${JSON.stringify(prefixes[i])} read another prefix's value`
              assert.deepEqual((await get(storages[i] as AnyStorage, ns, k))?.value, { prefix: prefixes[i] }, hint)
            }
            for (const [pos, i] of idx.entries()) {
              await clear(storages[i] as AnyStorage, ns)
              assert.equal(await get(storages[i] as AnyStorage, ns, k), undefined)
              for (const j of idx.slice(pos + 1)) {
                const hint = `clear on prefix ${JSON.stringify(prefixes[i])} touched prefix ${JSON.stringify(prefixes[j])}`
                assert.deepEqual((await get(storages[j] as AnyStorage, ns, k))?.value, { prefix: prefixes[j] }, hint)
                assert.deepEqual(
                  (await get(storages[j] as AnyStorage, ns, kq))?.value,
                  { prefix: prefixes[j], q: true },
                  hint,
                )
              }
            }
          }
          // delete on one prefix leaves the others
          for (const [i, s] of storages.entries()) await set(s, ns, k, i)
          assert.equal(await del(storages[0] as AnyStorage, ns, k), true)
          for (const [i, s] of storages.entries()) {
            if (i > 0) assert.equal((await get(s, ns, k))?.value, i, 'delete on one prefix touched another')
          }
        }),
      )
    })

    describe('concurrency', () => {
      it(
        'never shows a torn value to concurrent readers while many writers overwrite one key',
        withStorage(async ({ storage, ns, key }) => {
          const k = key()
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
        }),
      )

      it(
        'handles many concurrent writes to different keys',
        withStorage(async ({ storage, ns, key }) => {
          const keys = Array.from({ length: 100 }, () => key())
          await Promise.all(keys.map((k, i) => set(storage, ns, k, { i })))
          const entries = await Promise.all(keys.map((k) => get(storage, ns, k)))
          for (const [i, entry] of entries.entries()) assert.deepEqual(entry?.value, { i })
        }),
      )
    })

    describe('close', () => {
      it(
        'resolves when present',
        withStorage(async ({ storage, ns, key, closed }) => {
          await set(storage, ns, key(), 'x')
          if (typeof storage.close !== 'function') return // close is optional
          const result = storage.close()
          if (storage.async) assert.ok(isThenable(result), 'an async storage must return a promise from close()')
          else assert.ok(!isThenable(result), 'a sync storage must not return a promise from close()')
          closed(storage)
          await result
        }),
      )
    })
  })
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `string(${value.length})` : JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value)
  if (value === null || value === undefined) return String(value)
  return Object.prototype.toString.call(value)
}

function assertSameValue(actual: unknown, expected: unknown, label: string): void {
  assert.deepStrictEqual(actual, expected, `${label} read back different`)
}

// Compares bytes without relying on instanceof, which fails across realms (jest's vm context vs Buffer).
function assertSameBytes(actual: unknown, expected: unknown, label: string): void {
  const tag = (v: unknown) => Object.prototype.toString.call(v)
  assert.equal(tag(actual), '[object Uint8Array]', `${label}: expected a Uint8Array back, got ${tag(actual)}`)
  const wasBuffer = Buffer.isBuffer(expected)
  assert.equal(
    Buffer.isBuffer(actual),
    wasBuffer,
    `${label}: a ${wasBuffer ? 'Buffer' : 'plain Uint8Array'} must read back as a ${wasBuffer ? 'Buffer' : 'plain Uint8Array'}`,
  )
  const a = actual as Uint8Array
  const e = expected as Uint8Array
  assert.equal(a.length, e.length, `${label}: length differs`)
  for (let i = 0; i < e.length; i++) assert.equal(a[i], e[i], `${label}: byte ${i} differs`)
}
