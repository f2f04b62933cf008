import { ConfigError } from '@memokit/core'
import { describeValue, redactUrl, rejectUnknownOptions, resolveOperationTimeout } from '@memokit/core/backend'
import { isIoredis } from './options'

/** Options of {@link redisBus}: exactly one of `url` or `client`, plus `operationTimeoutMs`. */
export type RedisBusOptions = RedisBusUrlOptions | RedisBusClientOptions

interface RedisBusSharedOptions {
  /**
   * Longest wait, in ms, for a publish to be accepted by Redis and for `subscribe` to be confirmed before they
   * reject. Default: 1000.
   * @example 250
   */
  readonly operationTimeoutMs?: number
}

/** {@link RedisBusOptions} with a URL: the bus creates, connects and closes its two connections. */
interface RedisBusUrlOptions extends RedisBusSharedOptions {
  /**
   * A standalone server's URL, `redis[s]://[[user][:password]@]host[:port][/db]`. The bus opens a subscriber and
   * a publisher connection and closes them in `close()`. Neither keeps the process alive, also while the server is
   * unreachable: the bus reconnects them itself (the subscriber after a loss, backing off to once a second, on
   * timers that don't hold the process; the publisher at the next publish).
   * @example 'redis://127.0.0.1:6379'
   */
  readonly url: string
  readonly client?: undefined
}

/** {@link RedisBusOptions} with your own client, which the bus publishes through but never subscribes on or closes. */
interface RedisBusClientOptions extends RedisBusSharedOptions {
  /**
   * Your client: node-redis 6 `createClient(...)`, `createSentinel(...)` or `createCluster(...)`, or ioredis 5
   * `new Redis(...)` or `new Cluster(...)` (on a cluster: sharded pub/sub). The bus subscribes on its own `client.duplicate()` (closed by `close()`), so
   * your client never enters subscriber mode, and publishes through your client, connecting it if it isn't open.
   * Both reconnect by your client's reconnect strategy (node-redis' default one holds the process while waiting).
   * @example createClient({ url: 'redis://127.0.0.1:6379' })
   */
  readonly client: object
  readonly url?: undefined
}

/** Which command family a client kind speaks. */
export type BusClientKind = 'node-redis' | 'node-redis-cluster' | 'ioredis' | 'ioredis-cluster'

/** The options after validation. */
export interface ResolvedBusOptions {
  readonly url: string | undefined
  readonly client: object | undefined
  readonly kind: BusClientKind
  readonly operationTimeoutMs: number
}

const OWNER = 'redisBus'
const KNOWN = ['url', 'client', 'operationTimeoutMs']

function missing(client: object, names: readonly string[]): string[] {
  const c = client as Record<string, unknown>
  return names.filter((name) => typeof c[name] !== 'function')
}

/** Tells the client kind apart by what it offers, or throws a ConfigError saying what to pass instead. */
function kindOf(client: unknown): BusClientKind {
  if (client === null || typeof client !== 'object') {
    throw new ConfigError('client', `redisBus: client must be a Redis client object, got ${describeValue(client)}`)
  }
  if (isIoredis(client)) {
    const sharded = client.isCluster
    const needed = sharded
      ? ['duplicate', 'spublish', 'ssubscribe', 'sunsubscribe', 'on']
      : ['duplicate', 'publish', 'subscribe', 'unsubscribe', 'on']
    const lacks = missing(client, needed)
    if (lacks.length > 0) {
      const kind = sharded ? 'Cluster (sharded pub/sub: SPUBLISH, SSUBSCRIBE)' : 'Redis'
      throw new ConfigError('client', `client looks like an ioredis ${kind} but lacks ${lacks.join(', ')}`)
    }
    return sharded ? 'ioredis-cluster' : 'ioredis'
  }
  const c = client as Record<string, unknown>
  if (Array.isArray(c.masters) && typeof c.nodeClient === 'function') {
    const lacks = missing(client, ['duplicate', 'sPublish', 'sSubscribe', 'sUnsubscribe', 'connect', 'on'])
    if (lacks.length > 0)
      throw new ConfigError('client', `client looks like a node-redis cluster but lacks ${lacks.join(', ')}`)
    return 'node-redis-cluster'
  }
  const lacks = missing(client, ['duplicate', 'publish', 'subscribe', 'unsubscribe', 'connect', 'on'])
  if (lacks.length > 0) {
    throw new ConfigError(
      'client',
      `redisBus: client must be a node-redis createClient/createSentinel/createCluster client or an ioredis Redis or Cluster (a client pool cannot subscribe); it lacks ${lacks.join(', ')}`,
    )
  }
  return 'node-redis'
}

/** Checks every option before anything connects; throws a ConfigError naming the first wrong one. */
export function resolveBusOptions(options: unknown): ResolvedBusOptions {
  rejectUnknownOptions(OWNER, options, KNOWN, "redisBus({ url: 'redis://127.0.0.1:6379' }) or redisBus({ client })")
  const { url, client } = options
  if (url !== undefined && client !== undefined) {
    throw new ConfigError('url', 'pass either url or client to redisBus, not both')
  }
  if (url === undefined && client === undefined) {
    throw new ConfigError(
      'url',
      "redisBus needs a url (e.g. 'redis://127.0.0.1:6379') or a client (node-redis createClient/createSentinel/createCluster, or ioredis new Redis/new Cluster)",
    )
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    const shown = typeof url === 'string' ? JSON.stringify(redactUrl(url)) : describeValue(url)
    throw new ConfigError('url', `redisBus: url must start with redis:// or rediss://, got ${shown}`)
  }
  const kind = client === undefined ? 'node-redis' : kindOf(client)
  const operationTimeoutMs = resolveOperationTimeout(OWNER, options.operationTimeoutMs)
  return { url: url as string | undefined, client: client as object | undefined, kind, operationTimeoutMs }
}
