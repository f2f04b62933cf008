import { ConfigError } from '@memokit/core'
import { describeValue } from '@memokit/core/backend'

/**
 * The part of a Keyv 5 instance (`new Keyv(...)` from `keyv`, or the one cache-manager was given) that
 * {@link keyvStorage} uses. Typed structurally, so a Keyv from another copy of the `keyv` package fits too.
 */
export interface KeyvLike {
  /** The stored value of `key`, or `undefined`; Keyv itself drops values past the ttl given to `set`. */
  get(key: string): Promise<unknown>
  /** Stores `value` under `key` for `ttl` ms (none: Keyv's own default ttl, if any); `false` when the store failed. */
  set(key: string, value: string, ttl?: number): Promise<boolean>
  /** Removes `key`; `true` when it was there. */
  delete(key: string): Promise<boolean>
  /** Removes several keys at once (one command where the store has one). */
  deleteMany(keys: string[]): Promise<boolean>
  /**
   * Yields `[key, value]` for every key of the Keyv namespace; Keyv defines it only over stores that can list
   * their keys (its in-memory Map and the SQL, Mongo, Redis, Valkey and etcd adapters).
   */
  iterator?: ((namespace?: string) => AsyncIterable<readonly [string, unknown]>) | undefined
  /** The Keyv namespace (`'keyv'` unless set): Keyv stores key `k` as `<namespace>:k` when `useKeyPrefix` is on. */
  readonly namespace?: string | undefined
  /** Whether Keyv prefixes keys with its namespace (Keyv 5; `createKeyv` of `@keyv/redis` turns it off). */
  readonly useKeyPrefix: boolean
  /** Whether Keyv rethrows store failures instead of only emitting them (`throwOnErrors` option). */
  readonly throwOnErrors?: boolean
  /** The store adapter, or the Map of the in-memory store. */
  readonly store: unknown
  /** Keyv forwards its store's failures as `'error'` events. */
  on(event: 'error', listener: (error: unknown) => void): unknown
}

const METHODS = ['get', 'set', 'delete', 'deleteMany', 'on'] as const

/** Checks that `keyv` is a Keyv 5 instance before anything else happens; throws a ConfigError naming what's off. */
export function checkKeyv(keyv: unknown): KeyvLike {
  const k = keyv as Record<string, unknown> | null | undefined
  if (k === null || typeof k !== 'object') {
    throw new ConfigError(
      'keyv',
      `keyvStorage takes a Keyv instance as its first argument, got ${describeValue(keyv)}; e.g. keyvStorage(new Keyv({ store: new KeyvRedis('redis://127.0.0.1:6379') }))`,
    )
  }
  const missing = METHODS.filter((m) => typeof k[m] !== 'function')
  if (missing.length > 0 || typeof k.useKeyPrefix !== 'boolean') {
    const lacks = missing.length > 0 ? `lacks ${missing.join(', ')}` : 'has no useKeyPrefix'
    throw new ConfigError(
      'keyv',
      `keyvStorage needs a Keyv 5 instance (new Keyv(...) from keyv@5, or the Keyv you gave cache-manager 7); the argument ${lacks}. A bare store adapter (new KeyvRedis(...)) goes inside a Keyv: new Keyv({ store })`,
    )
  }
  if (k.iterator !== undefined && typeof k.iterator !== 'function') {
    throw new ConfigError('keyv', `keyv.iterator must be a function or absent, got ${describeValue(k.iterator)}`)
  }
  if (k.namespace !== undefined && typeof k.namespace !== 'string') {
    throw new ConfigError('keyv', `keyv.namespace must be a string or undefined, got ${describeValue(k.namespace)}`)
  }
  return keyv as KeyvLike
}
