// The shared Redis for the Keyv tests: unique Keyv namespaces per test run, every key removed afterwards by
// SCAN MATCH + UNLINK (never FLUSHDB: other tests use the same server), every client disconnected.
import { randomBytes } from 'node:crypto'
import KeyvRedis, { createKeyv, type RedisClientType } from '@keyv/redis'
import Keyv from 'keyv'

// Databases of their own on the shared server: a clear by iterator SCANs the whole database (10 keys per round
// trip, @keyv/redis' default), so database 0's thousands of other keys would make every clear slow.
const SERVER = process.env.KEYV_REDIS_SERVER ?? 'redis://127.0.0.1:6379'
/** The database the tests use: `KEYV_REDIS_SERVER` (default redis://127.0.0.1:6379), database 13. */
export const REDIS_URL = `${SERVER}/13`
/** "Another place": database 14 of the same server. */
export const OTHER_DB_URL = `${SERVER}/14`

/** A name unique to this run, for Keyv namespaces and prefixes; cleanup removes every key that contains it. */
export const RUN = `memokit-keyv-test-${randomBytes(4).toString('hex')}`

const stores: KeyvRedis<unknown>[] = []

/** A KeyvRedis on `url`, disconnected by {@link cleanupRedis}. `throwOnErrors` left at the adapter's default. */
export function redisStore(url = REDIS_URL): KeyvRedis<unknown> {
  const store = new KeyvRedis(url)
  stores.push(store)
  return store
}

/** The common setup: `new Keyv({ store: new KeyvRedis(url), namespace })` (keys `<ns>::<ns>:<memokit key>`). */
export function redisKeyv(url = REDIS_URL, namespace = RUN): Keyv {
  return new Keyv({ store: redisStore(url), namespace })
}

/** `@keyv/redis`'s own factory: useKeyPrefix off, the adapter adds the namespace (keys `<ns>::<memokit key>`). */
export function createdKeyv(url = REDIS_URL, namespace = `${RUN}-c`): Keyv {
  const keyv = createKeyv(url, { namespace })
  stores.push(keyv.store as KeyvRedis<unknown>)
  return keyv
}

/** A node-redis client of its own on `url` (a standalone server), disconnected by {@link cleanupRedis}. */
export async function rawClient(url = REDIS_URL): Promise<RedisClientType> {
  return (await redisStore(url).getClient()) as RedisClientType
}

/** Every key of this run on `url`'s database (scanned with a fresh client). */
export async function runKeys(url = REDIS_URL, match = `*${RUN}*`): Promise<string[]> {
  const client = await rawClient(url)
  const keys: string[] = []
  for await (const batch of client.scanIterator({ MATCH: match, COUNT: 1000 })) keys.push(...batch)
  return keys
}

const cleaners = new Map<string, Promise<RedisClientType>>()

/**
 * Removes this run's keys from both databases (SCAN MATCH + UNLINK) and, unless `disconnect` is false,
 * disconnects every client the tests opened.
 */
export async function cleanupRedis({ disconnect = true } = {}): Promise<void> {
  for (const url of [REDIS_URL, OTHER_DB_URL]) {
    let cleaner = cleaners.get(url)
    if (cleaner === undefined) {
      cleaner = rawClient(url)
      cleaners.set(url, cleaner)
    }
    const client = await cleaner
    const keys: string[] = []
    for await (const batch of client.scanIterator({ MATCH: `*${RUN}*`, COUNT: 1000 })) keys.push(...batch)
    for (let i = 0; i < keys.length; i += 500) await client.unlink(keys.slice(i, i + 500))
  }
  if (!disconnect) return
  cleaners.clear()
  await Promise.all(stores.splice(0).map((store) => store.disconnect().catch(() => undefined)))
}
