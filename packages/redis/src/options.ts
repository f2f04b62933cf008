import { type Codec, ConfigError } from '@memokit/core'
import { redactUrl, rejectUnknownOptions, resolveOperationTimeout, resolvePrefix } from '@memokit/core/backend'
import type { IoredisCompatibleClient, RedisCompatibleClient } from './client'

/** Options of {@link redisStorage}: exactly one of `url` or `client`, plus the shared options. */
export type RedisStorageOptions = RedisStorageUrlOptions | RedisStorageClientOptions

/** Options shared by both forms of {@link RedisStorageOptions}. */
interface RedisStorageSharedOptions {
  /**
   * First part of every key: storages with the same prefix on one server share entries, others never do. Keys are
   * `<prefix>:<namespace>:<key>` with `%` and `:` escaped in prefix and namespace. Default: `memokit/<name>`, where
   * `<name>` is the `name` in your application's package.json (see the README, "Default prefix"); `storage.scope`
   * shows the one in use. Set it to share entries across applications, or to `'memokit'` to keep reading keys
   * written under the former default.
   * @example 'billing-api'
   */
  readonly prefix?: string
  /**
   * Encodes entries into strings. Default: `createCodec()` from `@memokit/core`.
   * @example createCodec().registerClass(Money)
   */
  readonly codec?: Codec
  /**
   * Longest wait for one Redis round trip (connecting included) before the operation fails with a StorageError,
   * in ms. Default: 1000: far above a healthy server's latency (well under 10 ms), so it only fires on real faults,
   * yet short enough that a hung server delays each call by at most a second before core runs the function.
   * @example 250
   */
  readonly operationTimeoutMs?: number
}

/** {@link RedisStorageOptions} with a URL: memokit creates, connects and closes the client. */
interface RedisStorageUrlOptions extends RedisStorageSharedOptions {
  /**
   * A standalone server's URL, `redis[s]://[[user][:password]@]host[:port][/db]`. memokit creates the client,
   * connects on the first operation, fails commands fast while disconnected (no offline queue), reconnects in the
   * background (backoff capped at 1 s) while the storage is in use, and closes it in `close()`. An idle client
   * doesn't keep the process alive.
   * @example 'redis://127.0.0.1:6379'
   */
  readonly url: string
  readonly client?: undefined
}

/** {@link RedisStorageOptions} with your own client, which memokit never closes. */
interface RedisStorageClientOptions extends RedisStorageSharedOptions {
  /**
   * Your own client: node-redis 6 (`createClient(...)`, `createClientPool(...)`, `createCluster(...)`,
   * `createSentinel(...)`) or ioredis 5 (`new Redis(...)`, `new Cluster(...)`). memokit connects it on the first
   * operation if it isn't open yet (node-redis, ioredis with `lazyConnect`), and never closes it.
   * @example createCluster({ rootNodes: [{ url: 'redis://10.0.0.1:7000' }] })
   * @example new Redis('redis://127.0.0.1:6379')
   */
  readonly client: RedisCompatibleClient | IoredisCompatibleClient
  readonly url?: undefined
}

/** The options after validation, defaults applied. */
export interface ResolvedOptions {
  readonly url: string | undefined
  readonly client: RedisCompatibleClient | IoredisCompatibleClient | undefined
  readonly prefix: string
  readonly operationTimeoutMs: number
}

const OWNER = 'redisStorage'
const KNOWN = ['url', 'client', 'prefix', 'codec', 'operationTimeoutMs']

/** Checks every option before anything connects; throws a ConfigError naming the first wrong one. */
export function resolveOptions(options: unknown): ResolvedOptions {
  rejectUnknownOptions(OWNER, options, KNOWN, "redisStorage({ url: 'redis://127.0.0.1:6379' }) or ({ client })")
  const { url, client } = options
  if (url !== undefined && client !== undefined) {
    throw new ConfigError('url', 'pass either url or client to redisStorage, not both')
  }
  if (url === undefined && client === undefined) {
    throw new ConfigError(
      'url',
      "redisStorage needs a url (e.g. 'redis://127.0.0.1:6379') or a client (node-redis createClient/createCluster/createSentinel, or ioredis new Redis/new Cluster)",
    )
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    const shown = typeof url === 'string' ? JSON.stringify(redactUrl(url)) : typeof url
    throw new ConfigError('url', `url must start with redis:// or rediss://, got ${shown}`)
  }
  if (client !== undefined) checkClient(client)
  const operationTimeoutMs = resolveOperationTimeout(OWNER, options.operationTimeoutMs)
  // Last: the default prefix reads package.json files, which only matters once everything else is right.
  const prefix = resolvePrefix(OWNER, options.prefix)
  return {
    url: url as string | undefined,
    client: client as RedisCompatibleClient | IoredisCompatibleClient | undefined,
    prefix,
    operationTimeoutMs,
  }
}

/** True for an ioredis `Redis` or `Cluster`; node-redis clients have no `status` string nor `isCluster` flag. */
export function isIoredis(client: unknown): client is IoredisCompatibleClient {
  const c = client as { status?: unknown; isCluster?: unknown } | null
  return typeof c?.status === 'string' && typeof c.isCluster === 'boolean'
}

/** The members `isIoredis` clients must have for memokit, for the ConfigError naming the missing ones. */
function missingIoredisMembers(client: IoredisCompatibleClient): string[] {
  const c = client as unknown as Record<string, unknown>
  const needed = ['get', 'set', 'unlink', 'evalsha', 'eval', 'scanBuffer', 'connect', 'once', 'off']
  if (client.isCluster) needed.push('nodes')
  return needed.filter((m) => typeof c[m] !== 'function')
}

function checkClient(client: unknown): void {
  if (isIoredis(client)) {
    const missing = missingIoredisMembers(client)
    if (missing.length > 0) {
      const kind = client.isCluster ? 'Cluster' : 'Redis'
      throw new ConfigError('client', `client looks like an ioredis ${kind} but lacks ${missing.join(', ')}`)
    }
    return
  }
  const c = client as Record<string, unknown> | null
  const missing = ['get', 'set', 'unlink', 'evalSha', 'eval', 'connect'].filter((m) => typeof c?.[m] !== 'function')
  if (missing.length > 0) {
    throw new ConfigError(
      'client',
      `client must be a node-redis client (createClient, createCluster or createSentinel) or an ioredis Redis or Cluster; it lacks ${missing.join(', ')}`,
    )
  }
  const cc = c as Record<string, unknown>
  if (typeof cc.scan !== 'function' && !(Array.isArray(cc.masters) && typeof cc.nodeClient === 'function')) {
    throw new ConfigError('client', 'client must offer scan() (standalone, Sentinel) or masters/nodeClient (cluster)')
  }
}

// node-redis 6 can prefix every key it sends (`keyPrefix`) but neither prefixes SCAN's MATCH nor strips the prefix
// from SCAN's replies: clear must add it to the pattern and strip it from found keys.
export function clientKeyPrefix(client: RedisCompatibleClient): string {
  return keyPrefixOf((client as { _keyPrefix?: unknown })._keyPrefix)
}

/** A client's keyPrefix option (node-redis, ioredis) as a string; none is ''. */
export function keyPrefixOf(keyPrefix: unknown): string {
  if (keyPrefix === undefined || keyPrefix === null) return ''
  if (typeof keyPrefix === 'string') return keyPrefix
  throw new ConfigError(
    'client',
    "the client's keyPrefix is a Buffer; use a string keyPrefix, or none and memokit's prefix option",
  )
}
