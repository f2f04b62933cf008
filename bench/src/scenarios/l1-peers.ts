// L1's peer rows: each over its own connections and key prefix, every key written with L1's short TTL.
import { type Cache, type CacheEntry, cachified, totalTtl } from '@epic-web/cachified'
import { createKeyv } from '@keyv/redis'
import { createCache as createAcd } from 'async-cache-dedupe'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { createCache as createCacheManager } from 'cache-manager'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import type { Instance, Value } from './redis-common'

/** How long an entry is served, ms: short, so keys expire many times during a slice. */
export const L1_TTL_MS = 1000
/** Keys in the Zipf population; also the bound of the memory L1s (all keys fit, as a sized L1 would hold them). */
export const L1_KEYS = 10_000

/** One row of L1: sets up an instance caching `load` over Redis at `url`. */
export interface L1Row {
  readonly name: string
  readonly note: string
  /** A memokit variant (the target compares the best of them with the best peer). */
  readonly memokit?: boolean
  readonly make: (url: string, load: (k: number) => Promise<Value>) => Promise<L1Instance>
}

export interface L1Instance extends Instance {
  /** What happened since the last call, for the note (e.g. a tier's bus events); '' when nothing did. */
  readonly status?: () => string
}

/** The peer rows, keys under `prefix`: cache-manager, bentocache (L2 only; L1 + L2 + bus), async-cache-dedupe, cachified. */
export function l1Peers(prefix: string): L1Row[] {
  return [
    {
      name: 'cache-manager',
      note: 'wrap over Keyv + @keyv/redis (node-redis)',
      make: async (url, load) => {
        const keyv = createKeyv(url, { namespace: `${prefix}-cm` })
        const cache = createCacheManager({ stores: [keyv], ttl: L1_TTL_MS })
        return {
          call: (k) => cache.wrap(`user:${k}`, () => load(k), L1_TTL_MS),
          close: async () => {
            await cache.disconnect()
          },
        }
      },
    },
    {
      name: 'bentocache, L2 only',
      note: 'getOrSet, redis L2 (ioredis), no L1, no bus',
      make: async (url, load) => {
        const bento = new BentoCache({
          default: 'redis',
          stores: {
            redis: bentostore().useL2Layer(redisDriver({ connection: new Redis(url), prefix: `${prefix}-bl2` })),
          },
        })
        return {
          call: (k) => bento.getOrSet({ key: `user:${k}`, factory: () => load(k), ttl: L1_TTL_MS }),
          close: () => bento.disconnectAll(),
        }
      },
    },
    {
      name: 'bentocache, memory L1 + redis L2 + bus',
      note: `as its docs set up several instances: memory L1 (maxItems ${L1_KEYS}), redis L2, redis bus`,
      make: async (url, load) => {
        const { hostname, port } = new URL(url)
        const bento = new BentoCache({
          default: 'tiered',
          stores: {
            tiered: bentostore()
              .useL1Layer(memoryDriver({ maxItems: L1_KEYS }))
              .useL2Layer(redisDriver({ connection: new Redis(url), prefix: `${prefix}-bt` }))
              .useBus(redisBusDriver({ connection: { host: hostname, port: Number(port || 6379) } })),
          },
        })
        return {
          call: (k) => bento.getOrSet({ key: `user:${k}`, factory: () => load(k), ttl: L1_TTL_MS }),
          close: () => bento.disconnectAll(),
        }
      },
    },
    {
      name: 'async-cache-dedupe',
      note: `redis storage over ioredis, ttl ${L1_TTL_MS / 1000} s (whole seconds only)`,
      make: async (url, load) => {
        const client = new Redis(url)
        const cache = createAcd({ ttl: L1_TTL_MS / 1000, storage: { type: 'redis', options: { client } } })
        const name = `${prefix}:acd`
        const defined = cache.define(name, load) as unknown as Record<string, (k: number) => Promise<Value>>
        const fn = defined[name] as (k: number) => Promise<Value>
        return {
          call: (k) => fn.call(defined, k),
          close: async () => {
            client.disconnect()
          },
        }
      },
    },
    {
      name: 'cachified',
      note: 'minimal node-redis adapter (GET, SET PXAT of the JSON entry), as in R1',
      make: async (url, load) => {
        const client = await createClient({ url }).connect()
        const cache: Cache<Value> = {
          name: 'node-redis',
          get: async (key) => {
            const raw = await client.get(key)
            return raw === null ? null : (JSON.parse(raw) as CacheEntry<Value>)
          },
          set: async (key, entry) => {
            const ttl = totalTtl(entry.metadata)
            const json = JSON.stringify(entry)
            if (Number.isFinite(ttl)) await client.set(key, json, { PXAT: entry.metadata.createdTime + ttl })
            else await client.set(key, json)
          },
          delete: async (key) => {
            await client.del(key)
          },
        }
        return {
          call: (k) => cachified({ key: `${prefix}:cf:${k}`, cache, getFreshValue: () => load(k), ttl: L1_TTL_MS }),
          close: async () => {
            client.destroy()
          },
        }
      },
    },
  ]
}
