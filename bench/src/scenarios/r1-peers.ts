// The peers and raw clients of R1 and S5's Redis part, each over its own connection and key prefix.
import { type Cache, type CacheEntry, cachified, totalTtl } from '@epic-web/cachified'
import { createKeyv } from '@keyv/redis'
import { createCache as createAcd } from 'async-cache-dedupe'
import { BentoCache, bentostore } from 'bentocache'
import { redisDriver } from 'bentocache/drivers/redis'
import { createCache as createCacheManager } from 'cache-manager'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { fetchValue, type RedisContender, TTL_MS, type Value } from './redis-common'

/** The raw baseline: node-redis GET + JSON.parse, SET PX on a miss; `tag` keeps each variant's keys apart. */
function rawNodeRedis(
  prefix: string,
  name: string,
  note: string,
  tag: string,
  options: { commandOptions?: { timeout: number } },
): RedisContender {
  return {
    name,
    note,
    make: async (url, load = fetchValue) => {
      const client = await createClient({ url, ...options }).connect()
      return {
        call: async (k) => {
          const key = `${prefix}:${tag}:${k}`
          const hit = await client.get(key)
          if (hit !== null) return JSON.parse(hit) as Value
          const v = await load(k)
          await client.set(key, JSON.stringify(v), { PX: TTL_MS })
          return v
        },
        close: async () => {
          client.destroy()
        },
      }
    },
  }
}

/** The raw rows memokit's "own client" rows are compared with (r1-memokit.ts). */
export const RAW = 'node-redis GET + JSON.parse'
export const RAW_NO_TIMEOUT = 'node-redis, no command timeout'

export function contenders(prefix: string): RedisContender[] {
  return [
    rawNodeRedis(prefix, RAW, 'raw; SET PX on miss', 'raw', {}),
    rawNodeRedis(
      prefix,
      RAW_NO_TIMEOUT,
      'reference: commandOptions { timeout: 0 } (node-redis 6 arms an AbortSignal.timeout per command)',
      'rawnt',
      { commandOptions: { timeout: 0 } },
    ),
    {
      name: 'ioredis GET + JSON.parse',
      note: 'reference: the client async-cache-dedupe and bentocache use',
      make: async (url, load = fetchValue) => {
        const client = new Redis(url)
        return {
          call: async (k) => {
            const key = `${prefix}:ioraw:${k}`
            const hit = await client.get(key)
            if (hit !== null) return JSON.parse(hit) as Value
            const v = await load(k)
            await client.set(key, JSON.stringify(v), 'PX', TTL_MS)
            return v
          },
          close: async () => {
            client.disconnect()
          },
        }
      },
    },
    {
      name: 'async-cache-dedupe',
      note: 'redis storage over ioredis',
      make: async (url, load = fetchValue) => {
        const client = new Redis(url)
        const cache = createAcd({ ttl: TTL_MS / 1000, storage: { type: 'redis', options: { client } } })
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
      name: 'cache-manager',
      note: 'Keyv + @keyv/redis (node-redis)',
      make: async (url, load = fetchValue) => {
        const keyv = createKeyv(url, { namespace: `${prefix}-cm` })
        const cache = createCacheManager({ stores: [keyv], ttl: TTL_MS })
        return {
          call: (k) => cache.wrap(`user:${k}`, () => load(k), TTL_MS),
          close: async () => {
            await cache.disconnect()
          },
        }
      },
    },
    {
      name: 'cachified',
      note: 'minimal node-redis adapter (GET/SET PXAT, JSON)',
      make: async (url, load = fetchValue) => {
        const client = await createClient({ url }).connect()
        // What cachified's redis adapters do: the whole entry as JSON, expiring with the entry's total TTL.
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
          call: (k) => cachified({ key: `${prefix}:cf:${k}`, cache, getFreshValue: () => load(k), ttl: TTL_MS }),
          close: async () => {
            client.destroy()
          },
        }
      },
    },
    {
      name: 'bentocache',
      note: 'redis L2 only (ioredis), no L1',
      make: async (url, load = fetchValue) => {
        const bento = new BentoCache({
          default: 'redis',
          stores: {
            redis: bentostore().useL2Layer(redisDriver({ connection: new Redis(url), prefix: `${prefix}-bento` })),
          },
        })
        return {
          call: (k) => bento.getOrSet({ key: `user:${k}`, factory: () => load(k), ttl: TTL_MS }),
          close: () => bento.disconnectAll(),
        }
      },
    },
  ]
}
