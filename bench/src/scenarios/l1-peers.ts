// L1's peer rows: each over its own connections and key prefix, every key written with L1's short TTL.
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { Redis } from 'ioredis'
import { acdRedis, bentoRedisL2, cacheManagerRedis, cachifiedRedis, type Instance, type Value } from '../redis-common'

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
      make: cacheManagerRedis(prefix, L1_TTL_MS),
    },
    {
      name: 'bentocache, L2 only',
      note: 'getOrSet, redis L2 (ioredis), no L1, no bus',
      make: bentoRedisL2(`${prefix}-bl2`, L1_TTL_MS),
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
      make: acdRedis(prefix, L1_TTL_MS),
    },
    {
      name: 'cachified',
      note: 'minimal node-redis adapter (GET, SET PXAT of the JSON entry), as in R1',
      make: cachifiedRedis(prefix, L1_TTL_MS),
    },
  ]
}
