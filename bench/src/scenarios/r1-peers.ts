// The peers and raw clients of R1 and S5's Redis part, each over its own connection and key prefix.
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import {
  acdRedis,
  bentoRedisL2,
  cacheManagerRedis,
  cachifiedRedis,
  fetchValue,
  type RedisContender,
  TTL_MS,
  type Value,
} from '../redis-common'

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
    { name: 'async-cache-dedupe', note: 'redis storage over ioredis', make: acdRedis(prefix, TTL_MS) },
    { name: 'cache-manager', note: 'Keyv + @keyv/redis (node-redis)', make: cacheManagerRedis(prefix, TTL_MS) },
    {
      name: 'cachified',
      note: 'minimal node-redis adapter (GET/SET PXAT, JSON)',
      make: cachifiedRedis(prefix, TTL_MS),
    },
    { name: 'bentocache', note: 'redis L2 only (ioredis), no L1', make: bentoRedisL2(`${prefix}-bento`, TTL_MS) },
  ]
}
