import {
  type AsyncStorage,
  type Codec,
  ConfigError,
  type Entry,
  escapeKeyPart,
  resolveCodec,
  type SetOptions,
  StorageError,
  type StorageOp,
} from '@memokit/core'
import { createClient } from 'redis'
import type { OwnedClient, RedisCommandClient, RedisCompatibleClient, RedisLease, RedisScanClient } from './client'
import { createDeadlineQueue } from './deadlines'

/** Default of `operationTimeoutMs`: 1000 ms. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 1000

/** Options of {@link redisStorage}: exactly one of `url` or `client`, plus the shared options. */
export type RedisStorageOptions = RedisStorageUrlOptions | RedisStorageClientOptions

/** Options shared by both forms of {@link RedisStorageOptions}. */
interface RedisStorageSharedOptions {
  /**
   * First part of every key, so several apps can share a server. Keys are `<prefix>:<namespace>:<key>` with
   * `%` and `:` escaped in prefix and namespace. Default: `'memokit'`.
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
   * background (backoff capped at 1 s) and closes it in `close()`.
   * @example 'redis://127.0.0.1:6379'
   */
  readonly url: string
  readonly client?: undefined
}

/** {@link RedisStorageOptions} with your own client, which memokit never closes. */
interface RedisStorageClientOptions extends RedisStorageSharedOptions {
  /**
   * Your own node-redis 6 client: `createClient(...)`, `createCluster(...)` or `createSentinel(...)`.
   * memokit connects it on the first operation if it isn't open yet, and never closes it.
   * @example createCluster({ rootNodes: [{ url: 'redis://10.0.0.1:7000' }] })
   */
  readonly client: RedisCompatibleClient
  readonly url?: undefined
}

/** The storage {@link redisStorage} returns: an AsyncStorage whose `add` and `close` are always there. */
export interface RedisStorage extends AsyncStorage {
  /** `SET NX PX`: writes only if no entry exists; resolves to `true` if this call wrote it. */
  add(namespace: string, key: string, value: unknown, options?: SetOptions): Promise<boolean>
  /** Closes the client built from `url`; a client you passed stays open. Later calls reject. */
  close(): Promise<void>
}

const NAME = 'redis'
// Keys per SCAN step and per UNLINK batch: big enough that a clear needs few round trips, small enough that
// one SCAN step stays well under a millisecond of server time.
const SCAN_COUNT = 1000
// Commands a client built from `url` keeps waiting for replies: against a hung server, timed-out commands stay in
// node-redis' queue until the connection drops, so the cap bounds memory; past it, calls fail at once.
const MAX_PENDING_COMMANDS = 10_000
// Reconnect backoff of a client built from `url`: 50, 100, 200, ... ms, capped at 1 s, plus jitter.
const RECONNECT_MAX_DELAY_MS = 1000
// Lone surrogates become U+FFFD in UTF-8, so two different keys could land on one Redis key.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u
// Glob characters of Redis' MATCH, escaped so a namespace like `a*` matches only itself.
const GLOB_CHARS = /[*?[\]\\]/g

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function asString(reply: unknown): string {
  return typeof reply === 'string' ? reply : Buffer.isBuffer(reply) ? reply.toString('utf8') : String(reply)
}

function escapeGlob(text: string): string {
  return text.replace(GLOB_CHARS, '\\$&')
}

function validate(options: RedisStorageOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options', 'redisStorage needs an options object: redisStorage({ url }) or ({ client })')
  }
  const { url, client, prefix, operationTimeoutMs } = options
  if (url !== undefined && client !== undefined) {
    throw new ConfigError('url', 'pass either url or client to redisStorage, not both')
  }
  if (url === undefined && client === undefined) {
    throw new ConfigError(
      'url',
      "redisStorage needs a url (e.g. 'redis://127.0.0.1:6379') or a node-redis client (createClient/createCluster/createSentinel)",
    )
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    throw new ConfigError('url', `url must start with redis:// or rediss://, got ${JSON.stringify(url)}`)
  }
  if (client !== undefined) {
    const c = client as unknown as Record<string, unknown>
    const missing = ['get', 'set', 'unlink', 'connect'].filter((m) => typeof c?.[m] !== 'function')
    if (missing.length > 0) {
      throw new ConfigError(
        'client',
        `client must be a node-redis client (createClient, createCluster or createSentinel); it lacks ${missing.join(', ')}`,
      )
    }
    if (typeof c.scan !== 'function' && !(Array.isArray(c.masters) && typeof c.nodeClient === 'function')) {
      throw new ConfigError('client', 'client must offer scan() (standalone, Sentinel) or masters/nodeClient (cluster)')
    }
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || LONE_SURROGATE.test(prefix))) {
    throw new ConfigError('prefix', `prefix must be a well-formed string, got ${JSON.stringify(prefix)}`)
  }
  if (
    operationTimeoutMs !== undefined &&
    !(typeof operationTimeoutMs === 'number' && Number.isFinite(operationTimeoutMs) && operationTimeoutMs > 0)
  ) {
    throw new ConfigError(
      'operationTimeoutMs',
      `operationTimeoutMs must be a positive, finite number of milliseconds, got ${String(operationTimeoutMs)}`,
    )
  }
}

// node-redis 6 can prefix every key it sends (`keyPrefix`) but neither prefixes SCAN's MATCH nor strips the prefix
// from SCAN's replies: clear must add it to the pattern and strip it from found keys.
function clientKeyPrefix(client: RedisCompatibleClient): string {
  const keyPrefix = (client as { _keyPrefix?: unknown })._keyPrefix
  if (keyPrefix === undefined || keyPrefix === null) return ''
  if (typeof keyPrefix === 'string') return keyPrefix
  throw new ConfigError(
    'client',
    "the client's keyPrefix is a Buffer; use a string keyPrefix, or none and memokit's prefix option",
  )
}

function createOwnedClient(url: string, operationTimeoutMs: number): OwnedClient {
  try {
    return createClient({
      url,
      // Without this, commands issued while disconnected wait in memory until the server is back.
      disableOfflineQueue: true,
      commandsQueueMaxLength: MAX_PENDING_COMMANDS,
      // Every operation is bounded by our own deadline queue; node-redis' per-command AbortSignal timer would
      // double that work and costs more than the round trip itself on a hit (bench R1).
      commandOptions: { timeout: 0 },
      socket: {
        connectTimeout: Math.max(operationTimeoutMs, 1000),
        reconnectStrategy: (retries: number) =>
          Math.min(50 * 2 ** retries, RECONNECT_MAX_DELAY_MS) + Math.floor(Math.random() * 50),
      },
    }) as unknown as OwnedClient
  } catch (error) {
    throw new ConfigError('url', `url ${JSON.stringify(url)} is not a valid Redis URL: ${describe(error)}`, {
      cause: error,
    })
  }
}

/**
 * A Redis storage (node-redis 6): standalone, Cluster or Sentinel. One round trip per read (`GET`) and per
 * write (`SET ... PX`); `add` is `SET NX`; `clear` walks the namespace with `SCAN` + `UNLINK` (never `KEYS` or
 * `FLUSHDB`), on every master of a cluster. Every operation is bounded by `operationTimeoutMs` and fails with a
 * StorageError, so a slow or dead server never hangs a caller (core then runs the function).
 *
 * @example
 * const storage = redisStorage({ url: 'redis://127.0.0.1:6379' })
 * const storage = redisStorage({ client: createCluster({ rootNodes: [{ url: 'redis://10.0.0.1:7000' }] }) })
 */
export function redisStorage(options: RedisStorageOptions): RedisStorage {
  validate(options)
  const codec = resolveCodec(options.codec, 'redisStorage')
  const { url, client: userClient, prefix = 'memokit', operationTimeoutMs = DEFAULT_OPERATION_TIMEOUT_MS } = options
  const owned = url !== undefined ? createOwnedClient(url, operationTimeoutMs) : undefined
  const client: RedisCompatibleClient = owned ?? (userClient as RedisCompatibleClient)
  const keyPrefix = clientKeyPrefix(client)
  const isCluster = Array.isArray(client.masters) && typeof client.nodeClient === 'function'
  const prefixPart = `${escapeKeyPart(prefix)}:`
  // A Sentinel client may send SCAN to a replica (replicaPoolSize > 0), which can lag behind the master: keys it
  // hasn't received yet would survive the clear. Each SCAN step leases a master connection instead, released
  // right after the step (even if the step already timed out for us), so cache traffic isn't blocked meanwhile.
  const acquire = client.acquire
  const scanner: RedisScanClient =
    typeof acquire === 'function'
      ? {
          scan: (cursor, scanOptions) =>
            (acquire.call(client) as Promise<RedisLease>).then(async (lease) => {
              try {
                return await lease.scan(cursor, scanOptions)
              } finally {
                lease.release()
              }
            }),
        }
      : (client as RedisScanClient)

  // An owned client must have an 'error' listener, or node-redis' reconnect errors would crash the process.
  // The errors themselves reach callers as StorageErrors of the commands they break.
  owned?.on('error', () => {})

  let closed = false
  // Until the first connect settles, operations wait for it (bounded); afterwards they go straight to the client,
  // which rejects at once while disconnected (owned client) or is bounded by our timer (user's client).
  let gateOpen = owned === undefined && client.isOpen
  let gate: Promise<void> | undefined
  let connecting: Promise<void> | undefined
  // Once a user's client has been open, its lifecycle is the user's: if it is closed later, we don't reopen it.
  let userClientWasOpen = gateOpen
  let lastConnectAt = Number.NEGATIVE_INFINITY

  const fail = (op: StorageOp, error: unknown): StorageError =>
    error instanceof StorageError
      ? error
      : new StorageError(`redis ${op} failed: ${describe(error)}`, { storage: NAME, op }, { cause: error })

  // Races the work with a timer. A late reply is ignored: the promise is already settled, and the work's own
  // rejection is handled here, so nothing leaks as an unhandled rejection.
  const deadlines = createDeadlineQueue(operationTimeoutMs)
  const bounded = <T>(op: StorageOp, work: PromiseLike<T> | T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const deadline = deadlines.add(() => {
        reject(
          new StorageError(
            `redis ${op} timed out after ${operationTimeoutMs} ms (operationTimeoutMs): the server is slow, hung or unreachable`,
            { storage: NAME, op },
          ),
        )
      })
      Promise.resolve(work).then(
        (value) => {
          deadline.settled = true
          resolve(value)
        },
        (error: unknown) => {
          deadline.settled = true
          reject(fail(op, error))
        },
      )
    })

  const startConnect = (): Promise<void> => {
    if (connecting) return connecting
    lastConnectAt = Date.now()
    let attempt: Promise<unknown>
    try {
      attempt = client.connect()
    } catch (error) {
      attempt = Promise.reject(error)
    }
    connecting = attempt.then(
      () => {
        connecting = undefined
        if (!owned) userClientWasOpen = true
      },
      (error: unknown) => {
        connecting = undefined
        throw error
      },
    )
    return connecting
  }

  // Resolves when the first connect succeeds; an owned client also rejects on its first connection error, so a
  // server that is down at start makes calls fail at once instead of after the timeout.
  const openGate = (): Promise<void> => {
    if (gate) return gate
    gate = new Promise<void>((resolve, reject) => {
      if (client.isOpen && owned === undefined) {
        userClientWasOpen = true
        return resolve()
      }
      if (owned) {
        const onReady = (): void => {
          owned.off('error', onError)
          resolve()
        }
        const onError = (error: unknown): void => {
          owned.off('ready', onReady)
          reject(error)
        }
        owned.once('ready', onReady)
        owned.once('error', onError)
      }
      startConnect().then(resolve, reject)
    })
    gate.then(
      () => {
        gateOpen = true
      },
      () => {
        gateOpen = true
      },
    )
    return gate
  }

  const run = <T>(op: StorageOp, command: (c: RedisCompatibleClient) => Promise<T>): Promise<T> => {
    if (closed) {
      return Promise.reject(
        new StorageError(`redis ${op} after close(): this storage is closed`, { storage: NAME, op }),
      )
    }
    if (gateOpen) {
      // A client is closed for good when its connect fails (e.g. a cluster with no reachable root node, or a
      // reconnect strategy that gives up): try again in the background, at most once per backoff interval, so
      // caching comes back with the server. Never for a user's client that was open before: they closed it.
      if (
        !client.isOpen &&
        !connecting &&
        (owned || !userClientWasOpen) &&
        Date.now() - lastConnectAt >= RECONNECT_MAX_DELAY_MS
      ) {
        startConnect().catch(() => {})
      }
      let work: Promise<T>
      try {
        work = command(client)
      } catch (error) {
        work = Promise.reject(error)
      }
      return bounded(op, work)
    }
    return bounded(
      op,
      openGate().then(() => command(client)),
    ).catch((error: unknown) => {
      // Stop waiting for a connect that outlives the timeout: later calls fail fast instead of waiting again.
      gateOpen = true
      throw error
    })
  }

  const physicalKey = (namespace: string, key: string, op: StorageOp): string => {
    if (LONE_SURROGATE.test(namespace) || LONE_SURROGATE.test(key)) {
      throw new StorageError(
        'redis cannot store a namespace or key with a lone UTF-16 surrogate: it would collide with other keys in UTF-8',
        { storage: NAME, op },
      )
    }
    return `${prefixPart}${escapeKeyPart(namespace)}:${key}`
  }

  const write = (
    op: 'set' | 'add',
    namespace: string,
    key: string,
    value: unknown,
    options: SetOptions | undefined,
  ): Promise<unknown> => {
    const ttl = options?.ttl
    if (ttl !== undefined && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
      return Promise.reject(
        new ConfigError('ttl', `ttl must be a positive, finite number of milliseconds, got ${String(ttl)}`),
      )
    }
    let physical: string
    let payload: string
    try {
      physical = physicalKey(namespace, key, op)
      const createdAt = Date.now()
      payload = codec.encodeEntry({ value, createdAt, expiresAt: ttl === undefined ? undefined : createdAt + ttl })
    } catch (error) {
      return Promise.reject(error)
    }
    // Redis' PX takes whole ms: rounding up never lets the server drop an entry before its expiresAt.
    const setOptions = {
      ...(ttl === undefined ? {} : { expiration: { type: 'PX' as const, value: Math.ceil(ttl) } }),
      ...(op === 'add' ? { condition: 'NX' as const } : {}),
    }
    return run(op, (c) => c.set(physical, payload, setOptions))
  }

  const scanAndUnlink = async (
    scanner: RedisScanClient,
    pattern: string,
    unlink: (keys: string[]) => Promise<unknown>,
  ): Promise<void> => {
    let cursor = '0'
    do {
      const reply = await bounded('clear', scanner.scan(cursor, { MATCH: pattern, COUNT: SCAN_COUNT }))
      cursor = asString(reply.cursor)
      if (reply.keys.length > 0) {
        // Keys come back with the client's keyPrefix, which the client adds again on UNLINK.
        const keys = reply.keys.map((k) => asString(k).slice(keyPrefix.length))
        await bounded('clear', unlink(keys))
      }
    } while (cursor !== '0')
  }

  return {
    async: true,
    name: NAME,

    async get(namespace, key) {
      const physical = physicalKey(namespace, key, 'get')
      const payload = await run('get', (c) => c.get(physical))
      if (payload === null || payload === undefined) return undefined
      const entry: Entry = codec.decodeEntry(asString(payload))
      // The server expires by its own clock after the write arrived; our expiresAt may pass a moment earlier.
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) return undefined
      return entry
    },

    async set(namespace, key, value, options) {
      await write('set', namespace, key, value, options)
    },

    async add(namespace, key, value, options) {
      const reply = await write('add', namespace, key, value, options)
      return reply !== null && reply !== undefined
    },

    async delete(namespace, key) {
      const physical = physicalKey(namespace, key, 'delete')
      // Redis checks expiry on access, so a key past its PX counts as absent (0).
      const removed = await run('delete', (c) => c.unlink(physical))
      return Number(removed) > 0
    },

    async clear(namespace, functionKeyPrefix) {
      const physical = physicalKey(namespace, functionKeyPrefix ?? '', 'clear')
      const pattern = `${escapeGlob(keyPrefix + physical)}*`
      await run('clear', async () => undefined)
      if (!isCluster) {
        await scanAndUnlink(scanner, pattern, (keys) => client.unlink(keys))
        return
      }
      // A namespace spreads over all slots: scan every master. One UNLINK per key, routed by the cluster
      // client, so no command ever spans two slots (CROSSSLOT) and keys moved by resharding are followed.
      const masters = [...(client.masters ?? [])]
      await Promise.all(
        masters.map(async (master) => {
          const nodeClient = client.nodeClient as (node: unknown) => Promise<unknown>
          const node = (await bounded('clear', nodeClient.call(client, master))) as RedisScanClient
          await scanAndUnlink(node, pattern, (keys) =>
            Promise.all(keys.map((k) => (client as RedisCommandClient).unlink(k))),
          )
        }),
      )
    },

    async close() {
      if (closed) return
      closed = true
      if (!owned?.isOpen) return
      try {
        await bounded('close', owned.close())
      } catch {
        // A graceful QUIT can't finish on a dead or hung server; dropping the socket releases the same resources.
        owned.destroy()
      }
    },
  }
}
