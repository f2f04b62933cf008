import type { ClearTarget, ClientAdapter, IoredisCompatibleClient, RedisCompatibleClient, RedisKey } from './client'
import { clusterLocation, hostPort, type Location } from './locate'
import { keyPrefixOf } from './options'

// The ioredis members memokit calls, as ioredis 5 names them (`set` takes PX/NX as arguments, `scanBuffer` replies
// with a [cursor, keys] pair of Buffers, `evalsha` takes the key count and keys as arguments, a cluster lists its
// masters with `nodes('master')`).
interface Ioredis {
  readonly status: string
  readonly isCluster: boolean
  readonly options?: IoredisOptions
  readonly startupNodes?: readonly unknown[]
  connect(): Promise<void>
  get(key: string): Promise<unknown>
  mget(keys: string[]): Promise<unknown[]>
  set(key: RedisKey, value: string, ...args: (string | number)[]): Promise<unknown>
  unlink(keys: RedisKey | RedisKey[]): Promise<unknown>
  evalsha(sha: string, numKeys: number, ...keysAndArgs: RedisKey[]): Promise<unknown>
  eval(script: string, numKeys: number, ...keysAndArgs: RedisKey[]): Promise<unknown>
  scanBuffer(cursor: string, ...args: (string | number | Buffer)[]): Promise<[unknown, unknown[]]>
  nodes(role: 'master'): Ioredis[]
  once(event: 'ready' | 'close', listener: () => void): unknown
  off(event: 'ready' | 'close', listener: () => void): unknown
}

interface IoredisOptions {
  readonly host?: unknown
  readonly port?: unknown
  readonly path?: unknown
  readonly db?: unknown
  readonly tls?: unknown
  readonly sentinels?: unknown
  readonly name?: unknown
  readonly keyPrefix?: unknown
}

// A startup node as ioredis takes it: a port, 'host:port' or a URL, or { host, port }; ioredis defaults a
// cluster node to 127.0.0.1:6379.
function startupAddress(node: unknown): string | undefined {
  if (typeof node === 'number') return `127.0.0.1:${node}`
  if (typeof node === 'string') {
    if (/^\d+$/.test(node)) return `127.0.0.1:${node}`
    try {
      const url = new URL(node.includes('//') ? node : `redis://${node}`)
      return hostPort({ host: url.hostname || '127.0.0.1', port: url.port === '' ? 6379 : Number(url.port) })
    } catch {
      return undefined
    }
  }
  if (node === null || typeof node !== 'object') return undefined
  const { host, port } = node as { host?: unknown; port?: unknown }
  return hostPort({ host: typeof host === 'string' && host !== '' ? host : '127.0.0.1', port: Number(port ?? 6379) })
}

/** Where an ioredis client sends its commands, from its options (never the password). */
function locateIoredis(io: Ioredis): Location {
  const options = io.options ?? {}
  if (io.isCluster) {
    const addresses = (io.startupNodes ?? []).map(startupAddress).filter((a): a is string => a !== undefined)
    return clusterLocation(addresses) ?? { where: () => 'an ioredis cluster', server: 'redis-cluster://' }
  }
  const db = typeof options.db === 'number' ? options.db : 0
  if (Array.isArray(options.sentinels)) {
    const sentinels = [...new Set(options.sentinels.map(startupAddress))].sort().join(',')
    const name = String(options.name ?? '')
    return {
      where: () => `Sentinel master "${name}" (sentinels ${sentinels})`,
      server: `redis-sentinel://${sentinels}/${name}/${db}`,
    }
  }
  if (typeof options.path === 'string') {
    const path = options.path
    return { where: () => path, server: `redis+unix://${path}?db=${db}` }
  }
  const address = hostPort({ host: options.host, port: options.port })
  return { where: () => address, server: `${options.tls ? 'rediss' : 'redis'}://${address}/${db}` }
}

// One wait per client, however many storages share it: an EventEmitter warns past 10 listeners of one event.
const readyWaits = new WeakMap<Ioredis, Promise<void>>()

/** Resolves on the client's next `ready`; rejects on its next `close` (that connection attempt failed). */
function nextReady(io: Ioredis): Promise<void> {
  let wait = readyWaits.get(io)
  if (wait === undefined) {
    wait = new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        io.off('close', onClose)
        readyWaits.delete(io)
        resolve()
      }
      const onClose = (): void => {
        io.off('ready', onReady)
        readyWaits.delete(io)
        reject(new Error('Connection is closed.'))
      }
      io.once('ready', onReady)
      io.once('close', onClose)
    })
    readyWaits.set(io, wait)
  }
  return wait
}

// Buffers, not strings: a lease key is not valid UTF-8, so as a string it would come back altered.
function scanTarget(node: Ioredis, unlink: ClearTarget['unlink']): ClearTarget {
  return {
    scan: (cursor, pattern, count) =>
      node.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', count).then(([next, keys]) => ({ cursor: next, keys })),
    unlink,
  }
}

/**
 * Puts an ioredis client behind the node-redis command shape redisStorage sends (built once per storage: each
 * command costs one extra call, no allocation beyond SET's arguments), plus how `clear` reaches its keyspace.
 */
export function adaptIoredis(client: IoredisCompatibleClient): {
  readonly commands: RedisCompatibleClient
  readonly adapter: ClientAdapter
  readonly location: Location
} {
  const io = client as unknown as Ioredis
  // Until the client was ready once, memokit's operations wait for it (bounded), as for a node-redis client that is
  // connecting: with enableOfflineQueue: false, ioredis would fail them at once. Noticed whenever memokit looks.
  let wasReady = false
  const commands: RedisCompatibleClient = {
    // ioredis connects (and reconnects) by itself, except with lazyConnect (`wait`) or once its retryStrategy
    // gave up or its owner disconnected it (`end`).
    get isOpen() {
      const status = io.status
      if (status === 'ready') wasReady = true
      return wasReady && status !== 'wait' && status !== 'end'
    },
    connect: () => {
      const status = io.status
      if (status === 'wait' || status === 'end') return io.connect()
      // Connecting already (by itself, or for another storage): wait for this attempt, like io.connect() would.
      return status === 'ready' ? Promise.resolve() : nextReady(io)
    },
    get: (key) => io.get(key),
    mGet: (keys) => io.mget(keys),
    set: (key, value, options) => {
      const px = options?.expiration?.value
      if (options?.condition === 'NX') {
        return px === undefined ? io.set(key, value, 'NX') : io.set(key, value, 'PX', px, 'NX')
      }
      return px === undefined ? io.set(key, value) : io.set(key, value, 'PX', px)
    },
    unlink: (keys) => io.unlink(keys),
    evalSha: (sha, { keys, arguments: args }) => io.evalsha(sha, keys.length, ...keys, ...args),
    eval: (script, { keys, arguments: args }) => io.eval(script, keys.length, ...keys, ...args),
  }
  const keyPrefix = keyPrefixOf(io.options?.keyPrefix)
  const location = locateIoredis(io)
  if (!io.isCluster) {
    const targets = [scanTarget(io, (keys) => io.unlink(keys))]
    return { commands, adapter: { keyPrefix, cluster: false, clearTargets: async () => targets }, location }
  }
  // A namespace spreads over all slots: scan every master; one UNLINK per key, routed by the cluster.
  const unlinkEach: ClearTarget['unlink'] = (keys) => Promise.all(keys.map((k) => io.unlink(k)))
  return {
    commands,
    location,
    adapter: {
      keyPrefix,
      cluster: true,
      retriesTryAgain: true,
      clearTargets: async () => {
        // Until the cluster is ready it knows no masters (or only its startup nodes): wait for it, like the
        // commands waiting in ioredis' offline queue.
        if (io.status !== 'ready') await nextReady(io)
        const masters = io.nodes('master')
        if (masters.length === 0) throw new Error('the ioredis cluster knows no master node yet')
        return masters.map((node) => scanTarget(node, unlinkEach))
      },
    },
  }
}
