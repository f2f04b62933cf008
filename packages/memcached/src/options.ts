import { type Codec, ConfigError, escapeKeyPart } from '@memokit/core'
import { describeValue, rejectUnknownOptions, resolveOperationTimeout, resolvePrefix } from '@memokit/core/backend'
import type { MemcachedClient } from './client'

/** Options of {@link memcachedStorage}. */
export interface MemcachedStorageOptions {
  /**
   * Your memcached client behind the {@link MemcachedClient} interface: `fromMemjs(memjsClient)`,
   * `fromMemcacheClient(memcacheClient)` or your own adapter. memokit never closes it.
   */
  readonly client: MemcachedClient
  /**
   * First part of every key: storages with the same prefix on one server share entries, others never do.
   * Printable ASCII without spaces, at most 64 characters once `%` and `:` are escaped. Default: `memokit/<name>`,
   * where `<name>` is the `name` in your application's package.json (see the README, "Default prefix");
   * `storage.scope` shows the one in use. Set it to share entries across applications, or to `'memokit'` to keep
   * reading entries written under the former default.
   * @example 'billing-api'
   */
  readonly prefix?: string
  /** Encodes entries into strings. Default: `createCodec()` from `@memokit/core`. */
  readonly codec?: Codec
  /**
   * Longest time one storage operation (all its round trips) may take before it fails with a StorageError, in
   * ms. Default: 1000: far above a healthy server's sub-millisecond latency, short enough that a dead or hung
   * server delays a call by at most a second before core runs the function itself.
   */
  readonly operationTimeoutMs?: number
  /**
   * How long `get` trusts a namespace version read from memcached without reading it again, in ms. Default: 0:
   * every operation reads it (in the same round trip as the entry, see the README), so a `clear` by any replica
   * takes effect on the next call everywhere. With N > 0, a hit reads one key instead of two, but another
   * replica's `clear` may go unseen by this replica's reads for up to N ms (its own clears count at once).
   * `set`, `add` and `delete` always read the version, so they never act on a replaced one.
   * @example 1000
   */
  readonly versionCacheMs?: number
}

/** The options after validation, defaults applied. */
export interface ResolvedOptions {
  readonly client: MemcachedClient
  /** The prefix with `%` and `:` escaped, as it starts every key. */
  readonly escapedPrefix: string
  readonly operationTimeoutMs: number
  readonly versionCacheMs: number
}

const OWNER = 'memcachedStorage'
const KNOWN = ['client', 'prefix', 'codec', 'operationTimeoutMs', 'versionCacheMs']
const PREFIX_CHARS = /^[\x21-\x7e]*$/
const MAX_PREFIX_LENGTH = 64

function checkClient(client: unknown): MemcachedClient {
  const c = client as Record<string, unknown> | null | undefined
  if (c === null || typeof c !== 'object') {
    throw new ConfigError(
      'client',
      'memcachedStorage needs a client: fromMemjs(memjs.Client.create(...)), fromMemcacheClient(new MemcacheClient(...)) or your own MemcachedClient',
    )
  }
  const missing = ['get', 'set', 'add', 'append', 'delete'].filter((m) => typeof c[m] !== 'function')
  if (missing.length > 0) {
    throw new ConfigError(
      'client',
      `client lacks ${missing.join(', ')}: wrap your memcached client with fromMemjs() or fromMemcacheClient(), or write an adapter (see MemcachedClient)`,
    )
  }
  if (c.getMulti !== undefined && typeof c.getMulti !== 'function') {
    throw new ConfigError('client', `client.getMulti must be a function or absent, got ${typeof c.getMulti}`)
  }
  for (const name of ['gets', 'cas']) {
    if (c[name] !== undefined && typeof c[name] !== 'function') {
      throw new ConfigError('client', `client.${name} must be a function or absent, got ${typeof c[name]}`)
    }
  }
  if ((c.gets === undefined) !== (c.cas === undefined)) {
    throw new ConfigError(
      'client',
      `client has ${c.gets === undefined ? 'cas without gets' : 'gets without cas'}: leases need both (or neither)`,
    )
  }
  if (c.server !== undefined && typeof c.server !== 'string') {
    throw new ConfigError(
      'client',
      `client.server must be a 'host:port' string or absent, got ${describeValue(c.server)}`,
    )
  }
  return client as MemcachedClient
}

function checkPrefix(prefix: unknown): string {
  const given = prefix !== undefined
  const resolved = resolvePrefix(OWNER, prefix)
  const escaped = escapeKeyPart(resolved)
  if (PREFIX_CHARS.test(escaped) && escaped.length <= MAX_PREFIX_LENGTH) return escaped
  const rule = `printable ASCII without spaces, at most ${MAX_PREFIX_LENGTH} characters`
  throw new ConfigError(
    'prefix',
    given
      ? `prefix must be ${rule}, got ${JSON.stringify(prefix)}`
      : `${OWNER}: the default prefix ${JSON.stringify(resolved)} (from your package.json's name) is not a valid memcached prefix (${rule}); pass prefix`,
  )
}

/** Checks every option before anything is sent; throws a ConfigError naming the first wrong one. */
export function resolveOptions(options: unknown): ResolvedOptions {
  rejectUnknownOptions(OWNER, options, KNOWN, 'memcachedStorage({ client: fromMemjs(memjs.Client.create(...)) })')
  const client = checkClient(options.client)
  const operationTimeoutMs = resolveOperationTimeout(OWNER, options.operationTimeoutMs)
  const { versionCacheMs = 0 } = options
  if (!(typeof versionCacheMs === 'number' && Number.isFinite(versionCacheMs) && versionCacheMs >= 0)) {
    throw new ConfigError(
      'versionCacheMs',
      `versionCacheMs must be a finite number of milliseconds >= 0 (0 = read the namespace version on every call), got ${describeValue(versionCacheMs)}`,
    )
  }
  // Last: the default prefix reads package.json files, which only matters once everything else is right.
  return { client, escapedPrefix: checkPrefix(options.prefix), operationTimeoutMs, versionCacheMs }
}
