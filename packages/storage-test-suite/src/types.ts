import type { AnyStorage } from '@memokit/core'

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
  /**
   * Registers a test that may run beside the other such tests of its file, e.g. jest's `it.concurrent`. The suite
   * uses it for the tests that mostly wait on a real clock (TTLs and lease lapses, with `ttlGranularityMs` a whole
   * second: about three seconds each); each has storages of its own. Optional: without it they run one by one.
   */
  concurrent?(name: string, fn: () => Promise<void>, timeout?: number): void
  /** Runs once before the tests of the enclosing `describe`. Optional. */
  beforeAll?(fn: () => Promise<void>, timeout?: number): void
  /** Runs once after the tests of the enclosing `describe`; the suite closes leftover storages here. Optional. */
  afterAll?(fn: () => Promise<void>, timeout?: number): void
  /** node:test's name for `beforeAll`; used when `beforeAll` is absent. */
  before?(fn: () => Promise<void>): void
  /** node:test's name for `afterAll`; used when `afterAll` is absent. */
  after?(fn: () => Promise<void>): void
}

/** Makes a storage for a given prefix; the suite closes what it returns (calls `close()` if present). */
export type StorageFactory = (options: { readonly prefix: string }) => AnyStorage | Promise<AnyStorage>

/**
 * How the suite checks `storage.scope` beyond what it checks on every storage (see the README, "Scope"). Every
 * field is optional: a backend passes what it can build.
 */
export interface ScopeCheckOptions {
  /**
   * Creates a storage object that writes to the same place as `create({ prefix })` by other means: its own client
   * or connection, another spelling of the same URL or path. It must share entries with, and have the same scope
   * as, the storage `create` returns. Default: none (the suite then only compares two `create` results).
   */
  readonly createSame?: StorageFactory
  /**
   * Creates a storage with the same `prefix` in another place (another database, collection, directory or
   * server). It must not share entries with, and must have a different scope from, the storage `create` returns.
   * Default: none.
   */
  readonly createElsewhere?: StorageFactory
  /**
   * Texts that must never appear in a scope, e.g. the password in the URL `create` connects with. The suite also
   * refuses a `user:password@` part of a URL in any scope.
   * @default []
   */
  readonly secrets?: readonly string[]
}

/** What the suite needs to know about the storage under test. */
export interface StorageContractOptions {
  /** Label of the top-level `describe`, e.g. `'redis (standalone)'`. */
  readonly name: string
  /**
   * Creates a storage. Called once or more per test, each time with a fresh random `prefix` (prefixes of one test
   * may extend each other, e.g. `p` and `p:q`); storages that share a server must keep prefixes apart. A test may
   * call it twice with one prefix (the scope checks): storages that then share entries must say so with equal
   * `scope`s. The suite closes every storage it created (calls `close()` if present).
   */
  readonly create: StorageFactory
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
  /**
   * Whether the storage implements the lease members (`acquireLease`, `releaseLease`, `extendLease`,
   * `setIfLeased`). `true` runs the lease tests, which first require all four members; lease expiry tests use a
   * 300 ms lease ttl when really waiting (1 s on an advanced clock; at least twice `ttlGranularityMs`).
   * Default: `false` (then the suite only checks the storage has all four members or none).
   */
  readonly leases?: boolean
  /**
   * Whether the storage implements core's optional read-and-continue member (`GET_THEN` of
   * `@memokit/core/backend`). `true` checks that it answers exactly what `get` answers (values, meta, misses,
   * expiry, after random writes, deletes and clears). Default: `false` (then the suite checks it is absent).
   */
  readonly getThen?: boolean
  /** Extra checks of `storage.scope` ({@link ScopeCheckOptions}). Default: only the checks every storage gets. */
  readonly scope?: ScopeCheckOptions
}
