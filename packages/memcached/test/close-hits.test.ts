// close() and the hit path (hit.ts: get and GET_THEN with a remembered namespace version, one multi-get settled by
// a reader object, not run()): a hit counts in the storage's close gate like every other operation. close() waits
// for the hits already in flight, and a hit issued after it is refused like a get through the general read.
// Own memcached on MEMCACHED_CLOSE_HITS_PORT (default 7620), frozen (SIGSTOP) to hold hits in flight.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { type AsyncStorage, StorageError } from '@memokit/core'
import { GET_THEN, type GetThen } from '@memokit/core/backend'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, type MemcachedStorage, memcachedStorage } from '../src'
import { memcachedForFile } from './memcached-for-file'
import { freeze, portFromEnv } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_CLOSE_HITS_PORT', 7620)
const NS = 'ns'
const HITS = 50
const quiet = { log: () => undefined }

const file = memcachedForFile(PORT)
const { closers } = file

// The clients' own timeouts and the storage's operationTimeoutMs far above the freeze: no hit may time out.
const adapters: [string, () => MemcachedClient][] = [
  [
    'memjs',
    () => {
      const client = memjs.Client.create(file.server.address, { logger: quiet, timeout: 10, retries: 1 })
      closers.push(() => client.close())
      return fromMemjs(client)
    },
  ],
  [
    'memcache-client',
    () => {
      const client = new MemcacheClient({ server: file.server.address, cmdTimeout: 10_000 })
      closers.push(() => client.shutdown())
      return fromMemcacheClient(client)
    },
  ],
]

const getThen = (storage: AsyncStorage): GetThen =>
  ((storage as unknown as Record<symbol, GetThen>)[GET_THEN] as GetThen).bind(storage)

/** The client with every call of its string-keyed members counted (symbol-keyed fast paths stay as they are). */
function counted(client: MemcachedClient): { client: MemcachedClient; calls: () => number } {
  let calls = 0
  const wrapped: Record<string, unknown> = { ...client }
  for (const [name, member] of Object.entries(client)) {
    if (typeof member !== 'function') continue
    wrapped[name] = Object.assign((...args: unknown[]) => {
      calls++
      return (member as (...a: unknown[]) => unknown).apply(client, args)
    }, member)
  }
  return { client: wrapped as unknown as MemcachedClient, calls: () => calls }
}

/** A storage whose namespace version is remembered (its next reads are hits on the fast path), with `keys` set. */
async function warmStorage(
  client: MemcachedClient,
  keys: readonly string[],
  prefix = `close-hits-${randomBytes(6).toString('hex')}`,
  operationTimeoutMs = 20_000,
): Promise<MemcachedStorage> {
  const storage = memcachedStorage({ client, prefix, operationTimeoutMs })
  await Promise.all(keys.map((key) => storage.set(NS, key, `v-${key}`)))
  expect((await storage.get(NS, keys[0] as string))?.value).toBe(`v-${keys[0]}`)
  return storage
}

/** Every key once (in any order: replies may interleave), then 'closed'. */
function settledThenClosed(order: readonly string[], keys: readonly string[]): void {
  expect(order.at(-1)).toBe('closed')
  expect(order.slice(0, -1).sort()).toEqual([...keys].sort())
}

describe.each(adapters)('close() and the hit path, %s', (_name, makeClient) => {
  it('refuses a hit issued after close() with the StorageError of a get after close(), sending nothing', async () => {
    const { client, calls } = counted(makeClient())
    const storage = await warmStorage(client, ['k'])
    // The general read's refusal, for comparison: a client without getMulti never takes the fast path.
    const { getMulti: _, ...plain } = makeClient()
    const general = memcachedStorage({ client: plain, prefix: 'close-hits-general' })
    await general.close()
    const expected = await general.get(NS, 'k').catch((e: unknown) => e)
    expect(expected).toBeInstanceOf(StorageError)

    await storage.close()
    const before = calls()
    const got = await storage.get(NS, 'k').catch((e: unknown) => e)
    const failures: unknown[] = []
    const entries: unknown[] = []
    await getThen(storage)(
      NS,
      'k',
      (entry) => entries.push(entry),
      (error) => failures.push(error),
    )
    for (const error of [got, ...failures]) {
      expect(error).toBeInstanceOf(StorageError)
      expect(error).toMatchObject({
        message: (expected as StorageError).message,
        code: 'E_STORAGE',
        storage: 'memcached',
        op: 'get',
      })
    }
    expect(failures).toHaveLength(1)
    expect(entries).toHaveLength(0)
    expect(calls()).toBe(before)
  })

  it(`resolves close() only after ${HITS} hits in flight have settled, each with its value`, async () => {
    const keys = Array.from({ length: HITS }, (_, i) => `key-${i}`)
    const storage = await warmStorage(makeClient(), keys)
    const read = getThen(storage)
    // What settled, in order: each hit's key (or its failure), and 'closed' when close() resolved.
    const order: string[] = []
    const pid = file.server.pid
    await freeze(pid)
    try {
      // Half through GET_THEN (core's hit path), half through get, the last one too (its caller hears of it a
      // microtask after the read settled, when close()'s would too if the hit were counted out before it settled).
      const hits = keys.map((key, i) =>
        i % 2 === 1
          ? storage.get(NS, key).then(
              (entry) => void order.push(entry?.value === `v-${key}` ? key : `wrong ${key}`),
              (error: unknown) => void order.push(`failed ${key}: ${String(error)}`),
            )
          : read(
              NS,
              key,
              (entry) => order.push(entry?.value === `v-${key}` ? key : `wrong ${key}`),
              (error) => order.push(`failed ${key}: ${String(error)}`),
            ),
      )
      const closing = storage.close().then(() => void order.push('closed'))
      // A few turns of the event loop: nothing can answer while the server is stopped, so close() must be pending.
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve))
      expect(order).toEqual([])
      process.kill(pid, 'SIGCONT')
      await Promise.all([...hits, closing])
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    settledThenClosed(order, keys)
  })

  // Every way a hit settles counts it out once: a miss on a changed version (the hit's resume path) and a timeout.
  it('resolves close() after hits on a version another replica replaced, and after hits that timed out', async () => {
    const prefix = `close-hits-${randomBytes(6).toString('hex')}`
    const keys = Array.from({ length: 10 }, (_, i) => `key-${i}`)
    const storage = await warmStorage(makeClient(), keys, prefix)
    await memcachedStorage({ client: makeClient(), prefix }).clear(NS)
    const order: string[] = []
    const misses = keys.map((key) =>
      storage.get(NS, key).then((entry) => void order.push(entry === undefined ? key : `hit ${key}`)),
    )
    await storage.close().then(() => void order.push('closed'))
    await Promise.all(misses)
    settledThenClosed(order, keys)

    const timing = await warmStorage(makeClient(), keys, undefined, 1000)
    const pid = file.server.pid
    const failed: string[] = []
    await freeze(pid)
    try {
      const hits = keys.map((key) =>
        getThen(timing)(
          NS,
          key,
          () => failed.push(`answered ${key}`),
          (error) => failed.push((error as Error).message.includes('timed out after 1000 ms') ? key : String(error)),
        ),
      )
      await timing.close().then(() => void failed.push('closed'))
      await Promise.all(hits)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    settledThenClosed(failed, keys)
  })
})
