// What the server scenarios share (R1, S5, S5X, L1, T1, H1, P1): the value, the contender shape, the peers' Redis
// setup, the hit loops, reachability and cleanup.
import { type Cache, type CacheEntry, cachified, totalTtl } from '@epic-web/cachified'
import { createKeyv } from '@keyv/redis'
import { createCache as createAcd } from 'async-cache-dedupe'
import { BentoCache, bentostore } from 'bentocache'
import { redisDriver } from 'bentocache/drivers/redis'
import { createCache as createCacheManager } from 'cache-manager'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import type { Versus } from './harness'

/** Hot keys per contender: 0..255. */
export const HOT = 256
/** TTL of every key R1, S5, T1, H1 and P1 write, ms. */
export const TTL_MS = 120_000

/** The server the Redis scenarios use: `REDIS_URL`, default `redis://127.0.0.1:6379`. */
export const redisUrl = (): string => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** An error's message, or the thrown value as a string. */
export const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** What every contender caches: an `id` (the key) and, from `valueFor`, about 1 KB of JSON-able fields. */
export interface Value {
  readonly id: number
  readonly [field: string]: unknown
}

// About 1 KB of JSON, the same shape for every contender.
const TEMPLATE = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'editor', 'viewer'],
  settings: { theme: 'dark', locale: 'en-GB', notifications: { email: true, sms: false, push: true } },
  tags: Array.from({ length: 12 }, (_, i) => `tag-${i}`),
  bio: 'x'.repeat(620),
  createdAt: '2024-01-01T00:00:00.000Z',
}
/** The ~1 KB value for key `id`. */
export const valueFor = (id: number): Value => ({ id, ...TEMPLATE })
/** The default cached function: `valueFor` behind a promise, no delay. */
export const fetchValue = async (id: number): Promise<Value> => valueFor(id)

/** The function being cached. */
export type Load = (k: number) => Promise<Value>

/** One contender set up over its own connection: the cached call and how to close it. */
export interface Instance {
  readonly call: (k: number) => Promise<Value>
  readonly close: () => Promise<void>
  /** Called once the hot keys are filled, before the check and the timing (the stale row holds its refreshes). */
  readonly ready?: () => Promise<void>
}

/** Sets up one instance over its own connection; `load` is the function being cached (default: `fetchValue`). */
export type Make = (url: string, load?: Load) => Promise<Instance>

/** A row of R1 (and of S5's Redis part): its name, note, targets, and how to set up an instance. */
export interface RedisContender {
  readonly name: string
  readonly note: string
  /** Target ratio for the 64-in-flight hit mode. */
  readonly target?: number
  /** Compared with another row in every mode (memokit against its before build). */
  readonly versus?: Versus
  /** The timed modes this row takes part in; default all. */
  readonly modes?: readonly Mode[]
  readonly make: Make
}

/** R1's timed modes: hits with 64 calls in flight, hits one at a time, misses. */
export type Mode = 'hit64' | 'hit1' | 'miss'

/**
 * A `compileLoop` body over `call` and `st.next`: hits on keys 0..HOT-1 in turn, `inFlight` calls at a time (1:
 * one awaited call after another). `tally(r)` is the statement adding a result expression `r` to the sum `s`.
 */
export function hitLoop(inFlight: number, tally = (r: string) => `s += ${r}.id`): string {
  if (inFlight === 1)
    return `let s = 0
for (let i = 0; i < n; i++) {
  const k = st.next
  st.next = (k + 1) & ${HOT - 1}
  ${tally('(await call(k))')}
}
return s`
  return `let s = 0
for (let i = 0; i < n; i += ${inFlight}) {
  const m = Math.min(${inFlight}, n - i)
  const ps = new Array(m)
  const base = st.next
  st.next = (base + m) & ${HOT - 1}
  for (let j = 0; j < m; j++) ps[j] = call((base + j) & ${HOT - 1})
  const rs = await Promise.all(ps)
  for (let j = 0; j < m; j++) ${tally('rs[j]')}
}
return s`
}

// The peers over Redis, each as its docs set it up for a shared cache, its keys under `prefix`, every key with a
// TTL of `ttlMs`. R1, S5, S5X and L1 use these same setups, so their figures describe the same configurations.

/** async-cache-dedupe's redis storage over ioredis (its TTL is whole seconds). */
export function acdRedis(prefix: string, ttlMs: number): Make {
  return async (url, load = fetchValue) => {
    const client = new Redis(url)
    const cache = createAcd({ ttl: ttlMs / 1000, storage: { type: 'redis', options: { client } } })
    const name = `${prefix}:acd`
    const defined = cache.define(name, load) as unknown as Record<string, (k: number) => Promise<Value>>
    const fn = defined[name] as (k: number) => Promise<Value>
    return {
      call: (k) => fn.call(defined, k),
      close: async () => {
        client.disconnect()
      },
    }
  }
}

/** cache-manager 7: `wrap` over Keyv + @keyv/redis (node-redis). */
export function cacheManagerRedis(prefix: string, ttlMs: number): Make {
  return async (url, load = fetchValue) => {
    const keyv = createKeyv(url, { namespace: `${prefix}-cm` })
    const cache = createCacheManager({ stores: [keyv], ttl: ttlMs })
    return {
      call: (k) => cache.wrap(`user:${k}`, () => load(k), ttlMs),
      close: async () => {
        await cache.disconnect()
      },
    }
  }
}

/** cachified over a minimal node-redis adapter: what its redis adapters do (GET, SET PXAT of the JSON entry). */
export function cachifiedRedis(prefix: string, ttlMs: number): Make {
  return async (url, load = fetchValue) => {
    const client = await createClient({ url }).connect()
    const cache: Cache<Value> = {
      name: 'node-redis',
      get: async (key) => {
        const raw = await client.get(key)
        return raw === null ? null : (JSON.parse(raw) as CacheEntry<Value>)
      },
      // The whole entry as JSON, expiring with the entry's total TTL.
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
      call: (k) => cachified({ key: `${prefix}:cf:${k}`, cache, getFreshValue: () => load(k), ttl: ttlMs }),
      close: async () => {
        client.destroy()
      },
    }
  }
}

/** bentocache `getOrSet` with a redis L2 only (ioredis), no L1, no bus; `keyPrefix` is the driver's prefix. */
export function bentoRedisL2(keyPrefix: string, ttlMs: number): Make {
  return async (url, load = fetchValue) => {
    const bento = new BentoCache({
      default: 'redis',
      stores: { redis: bentostore().useL2Layer(redisDriver({ connection: new Redis(url), prefix: keyPrefix })) },
    })
    return {
      call: (k) => bento.getOrSet({ key: `user:${k}`, factory: () => load(k), ttl: ttlMs }),
      close: () => bento.disconnectAll(),
    }
  }
}

/** Undefined when Redis at `url` answers PING within 2 s (connect timeout), else why not. */
export async function reachable(url: string): Promise<string | undefined> {
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (error) {
    return message(error)
  } finally {
    if (client.isOpen) client.destroy()
  }
}

/** Deletes this run's keys (and only them): SCAN MATCH on the run's unique prefix. */
export async function cleanup(url: string, prefix: string): Promise<number> {
  const client = await createClient({ url }).connect()
  let removed = 0
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) removed += await client.unlink(keys)
    }
  } finally {
    client.destroy()
  }
  return removed
}
