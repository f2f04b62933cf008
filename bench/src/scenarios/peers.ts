// Async peers set up the same way in every scenario that uses them (S3, S5, S6).
import { cachified } from '@epic-web/cachified'
import { createCache as createAcd } from 'async-cache-dedupe'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'

const HOUR_MS = 3_600_000

export type AsyncFn<T> = (n: number) => Promise<T>

/** async-cache-dedupe with its memory storage; `define` a function per use. */
export function acdMemory<T>(fn: AsyncFn<T>, size = 10_000): AsyncFn<T> {
  const cache = createAcd({ ttl: 3600, storage: { type: 'memory', options: { size } } })
  const defined = cache.define('fetch', fn) as unknown as { fetch: AsyncFn<T> }
  return defined.fetch.bind(defined)
}

/** cache-manager v7 with its default store (Keyv over an in-memory Map), `wrap` with a string key per call. */
export function cacheManagerMemory<T>(fn: AsyncFn<T>): AsyncFn<T> {
  const cache = createCacheManager({ ttl: HOUR_MS })
  return (n) => cache.wrap(`user:${n}`, () => fn(n), HOUR_MS)
}

/** cachified over a plain Map (its documented minimal cache). */
export function cachifiedMemory<T>(fn: AsyncFn<T>): AsyncFn<T> {
  const cache = new Map()
  return (n) => cachified({ key: `user:${n}`, cache, getFreshValue: () => fn(n), ttl: HOUR_MS })
}

/** bentocache with a memory L1 only. */
export function bentoMemory<T>(fn: AsyncFn<T>, maxItems = 10_000): { call: AsyncFn<T>; close: () => Promise<void> } {
  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems })) },
  })
  return {
    call: (n) => bento.getOrSet({ key: `user:${n}`, factory: () => fn(n), ttl: '1h' }),
    close: () => bento.disconnectAll(),
  }
}
