/**
 * The storage each soak process opens on the cache server, and what the orchestrator asks of it before a run:
 * whether it has the lease members, and whether core accepts `singleFlight: 'distributed'` over it.
 */
import { type AsyncStorage, cacheValue } from '@memokit/core'
import { LEASE_MEMBERS } from '@memokit/core/backend'
import { fromMemjs, memcachedStorage } from '@memokit/memcached'
import { mongoStorage } from '@memokit/mongodb'
import { redisStorage } from '@memokit/redis'
import memjs from 'memjs'
import { createCluster } from 'redis'
import type { Backend, SoakOptions } from './config'
import { type L2Reads, openTier, type TierSettings } from './tier'

/** An open storage and how to close what it opened. */
export interface OpenStorage {
  readonly storage: AsyncStorage
  /** `redis-tiered`: the tier's L2 reads so far. */
  readonly l2Reads?: L2Reads
  close(): Promise<void>
}

// Short timeouts: a killed server must cost a call well under a second before core runs `fn` itself.
const OPERATION_TIMEOUT_MS = 500

/**
 * A node-redis cluster client over the nodes' URLs (comma-separated) that rides out a failover as the Redis
 * cluster tests' client does: no offline queue (fail fast while a master is down), quick reconnects, and a
 * slot-map refresh while reconnecting, so the promoted replica is found within ~200 ms of the failover.
 */
function openCluster(urls: string, prefix: string): OpenStorage {
  const client = createCluster({
    rootNodes: urls.split(',').map((url) => ({ url })),
    defaults: {
      disableOfflineQueue: true,
      socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 500) },
    },
    topologyRefreshOnReconnectionAttemptStrategy: 200,
  })
  // Errors reach the storage's callers as StorageErrors of the commands they break; this only keeps them quiet.
  client.on('error', () => {})
  const storage = redisStorage({ client, prefix, operationTimeoutMs: OPERATION_TIMEOUT_MS })
  return {
    storage,
    async close() {
      await storage.close()
      // The storage leaves a client it was given open. Never connected (the orchestrator's probe): nothing to do.
      if (client.isOpen) await client.close().catch(() => client.destroy())
    },
  }
}

/**
 * Opens a storage of `backend` at `url` under `prefix` (all processes of a run use the same prefix); `tier` says
 * how a `redis-tiered` process makes its tier.
 */
export function openStorage(backend: Backend, url: string, prefix: string, tier?: TierSettings): OpenStorage {
  if (backend === 'redis-cluster') return openCluster(url, prefix)
  if (backend === 'redis-tiered') {
    if (tier === undefined) throw new Error('redis-tiered needs the tier settings')
    return openTier(url, prefix, tier)
  }
  if (backend === 'redis') {
    const storage = redisStorage({ url, prefix, operationTimeoutMs: OPERATION_TIMEOUT_MS })
    return { storage, close: () => storage.close() }
  }
  if (backend === 'mongodb') {
    const collection = `soak_${prefix.replace(/[^a-z0-9]/gi, '_')}`
    const storage = mongoStorage({ url, database: 'memokit_soak', collection, prefix, operationTimeoutMs: 1000 })
    return { storage, close: () => storage.close() }
  }
  const client = memjs.Client.create(url, { logger: { log: () => undefined }, timeout: 0.5, retries: 1 })
  const storage = memcachedStorage({ client: fromMemjs(client), prefix, operationTimeoutMs: OPERATION_TIMEOUT_MS })
  return {
    storage,
    async close() {
      client.close()
    },
  }
}

/** The storage of soak process `role` (`writer`, `worker-N`, the orchestrator's `probe`) as the run's options say. */
export function openFor(options: SoakOptions, url: string, prefix: string, role: string): OpenStorage {
  return openStorage(options.backend, url, prefix, {
    maxL1AgeMs: options.maxL1AgeMs,
    broken: options.brokenTier,
    role,
  })
}

/**
 * Reads once, retrying for up to `ms`, so a process is connected (MongoDB: indexes created) before it says ready;
 * on a loaded machine the first operation can exceed the operation timeout.
 */
export async function connect(storage: AsyncStorage, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      await storage.get('soak-warm-up', 'connect')
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/** Whether `storage` has every lease member. */
export function hasLeases(storage: AsyncStorage): boolean {
  return LEASE_MEMBERS.every((member) => typeof storage[member] === 'function')
}

/**
 * `storage` without its lease members: core then stores results with plain writes, as it did before leases, so an
 * invalidation that overtakes a computation can't keep its result out (what `--unfenced` shows).
 */
export function withoutLeases(storage: AsyncStorage): AsyncStorage {
  const hidden = new Set<PropertyKey>(LEASE_MEMBERS)
  return new Proxy(storage, {
    get(target, property) {
      if (hidden.has(property)) return undefined
      const member = Reflect.get(target, property, target) as unknown
      return typeof member === 'function' ? member.bind(target) : member
    },
    has: (target, property) => !hidden.has(property) && property in target,
  })
}

/** Whether core accepts `singleFlight: 'distributed'` over `storage` (it needs core's leases and the members). */
export function acceptsDistributed(storage: AsyncStorage): boolean {
  try {
    const options = { storage, name: 'soak-probe', singleFlight: 'distributed' }
    cacheValue(async () => 0, options as Parameters<typeof cacheValue>[1])
    return true
  } catch {
    return false
  }
}
