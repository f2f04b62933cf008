// A write sent before a delete or clear must not land after it. One connection runs commands in the order they were
// sent; a pool (or a Sentinel client with more than one master connection) may send the write and the invalidation
// on different connections, and the server may read the invalidation's first. A TCP proxy in front of a server of
// our own holds back the bytes of the connection that carries the write (a fault a real server can't produce on
// demand): the invalidation, on another connection, then runs first unless the storage orders it after the write.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { Cluster, Redis } from 'ioredis'
import { createClient, createClientPool, createCluster, createSentinel } from 'redis'
import { type HoldingProxy, startProxy } from '../../storage-test-suite/test/fixtures/holding-proxy'
import { reordersCommands } from '../src/write-order'
import { uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import {
  disposer,
  envPort,
  type RedisProcess,
  type RedisSentinelProcesses,
  startRedisSentinel,
  startRedisServer,
} from './servers'

const HOST = '127.0.0.1'
const NS = 'ns'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const cleanup = disposer()
const ioredis = ioredisClients()

let server: RedisProcess
let proxy: HoldingProxy

beforeAll(async () => {
  server = await startRedisServer(envPort('REDIS_POOL_ORDER_PORT', 7330))
  proxy = await startProxy(server.port)
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await ioredis.closeAll()
  proxy?.close()
  await server?.stop()
}, 60_000)

const proxyUrl = (): string => `redis://${HOST}:${proxy.port}`

type Client = NonNullable<RedisStorageOptions['client']>

/** A storage on `client`, and one with the same prefix straight on the server (no proxy) to see what it holds. */
async function storages(client: Client, operationTimeoutMs = 2000, truthUrl = server.url) {
  const prefix = uid('order')
  const storage = cleanup.track(redisStorage({ client, prefix, operationTimeoutMs }))
  const truth = cleanup.track(redisStorage({ url: truthUrl, prefix }))
  // Loads the delete script on the server, so no delete below needs a second round trip (NOSCRIPT, then EVAL).
  await storage.delete(NS, 'warm')
  return { storage, truth }
}

async function openPool(minimum: number) {
  const pool = createClientPool({ url: proxyUrl() }, { minimum, maximum: minimum })
  pool.on('error', () => undefined)
  await pool.connect()
  return cleanup.track(pool)
}

type Write = (storage: RedisStorage, key: string, value: string) => Promise<unknown>
type Invalidate = (storage: RedisStorage, key: string) => Promise<unknown>
const set: Write = (storage, key, value) => storage.set(NS, key, value)
const add: Write = (storage, key, value) => storage.add(NS, key, value)
const remove: Invalidate = (storage, key) => storage.delete(NS, key)
const clear: Invalidate = (storage) => storage.clear(NS)
const clearPrefix: Invalidate = (storage, key) => storage.clear(NS, key.slice(0, 4))
const token = (key: string): string => `token-${key}`.padEnd(20, '-')

describe('a client pool (createClientPool, two connections)', () => {
  it.each<[string, Write, Invalidate]>([
    ['set, then delete', set, remove],
    ['add, then delete', add, remove],
    ['set, then clear', set, clear],
    ['add, then clear with a key prefix', add, clearPrefix],
  ])(
    '%s: the write, sent first but held 300 ms, does not land after the invalidation',
    async (_, write, invalidate) => {
      const { storage, truth } = await storages(await openPool(2))
      const key = uid('key')
      const value = uid('stale')
      const held = proxy.holdNext(value, 300)
      // As cacheValue stores a result: the write is not awaited before the invalidation is issued.
      const writing = write(storage, key, value)
      await invalidate(storage, key)
      await writing
      await held.answered
      expect(await truth.get(NS, key)).toBeUndefined()
    },
  )

  it('a set that timed out does not land after the delete issued at its timeout', async () => {
    const { storage, truth } = await storages(await openPool(2), 600)
    const key = uid('key')
    const value = uid('stale')
    // Held past the set's 600 ms, and released within the 600 ms of the delete issued then.
    const held = proxy.holdNext(value, 900)
    await expect(storage.set(NS, key, value)).rejects.toThrow(StorageError)
    await storage.delete(NS, key)
    await held.answered
    expect(await truth.get(NS, key)).toBeUndefined()
  })

  it('a set that timed out does not land after the newer set issued next (a refresh after a slow write)', async () => {
    const { storage, truth } = await storages(await openPool(2), 600)
    const key = uid('key')
    const stale = uid('stale')
    // Held past the first set's 600 ms, and released within the 600 ms of the set issued then.
    const held = proxy.holdNext(stale, 900)
    await expect(storage.set(NS, key, stale)).rejects.toThrow(StorageError)
    await storage.set(NS, key, 'fresh')
    await held.answered
    expect((await truth.get(NS, key))?.value).toBe('fresh')
  })

  it('a set held 300 ms does not land after a set of the key issued while it was on its way', async () => {
    const { storage, truth } = await storages(await openPool(2))
    const key = uid('key')
    const first = uid('first')
    const held = proxy.holdNext(first, 300)
    const writing = storage.set(NS, key, first)
    // Issued while the first set is held: without ordering it takes the other connection and lands first.
    await storage.set(NS, key, 'second')
    await writing
    await held.answered
    expect((await truth.get(NS, key))?.value).toBe('second')
  })

  it('an add issued while a set of the key is held 300 ms finds that set, as on one connection', async () => {
    const { storage, truth } = await storages(await openPool(2))
    const key = uid('key')
    const first = uid('first')
    const held = proxy.holdNext(first, 300)
    const writing = storage.set(NS, key, first)
    // Without ordering the add lands first, answers true, and the held set then overwrites what it stored.
    expect(await storage.add(NS, key, 'second')).toBe(false)
    await writing
    await held.answered
    expect((await truth.get(NS, key))?.value).toBe(first)
  })

  it.each<[string, Invalidate]>([
    ['delete', remove],
    ['clear', clear],
  ])('a fenced write (setIfLeased) held 300 ms does not land after a %s', async (_, invalidate) => {
    const { storage, truth } = await storages(await openPool(2))
    const key = uid('key')
    const value = uid('stale')
    expect(await storage.acquireLease(NS, key, token(key), 10_000)).toBe(true)
    const held = proxy.holdNext(value, 300)
    const writing = storage.setIfLeased(NS, key, value, token(key))
    await invalidate(storage, key)
    // It landed after the invalidation, found the lease gone, and wrote nothing: the fence orders it by itself.
    expect(await writing).toBe(false)
    await held.answered
    expect(await truth.get(NS, key)).toBeUndefined()
  })

  it('400 concurrent set/delete pairs on 4 connections, each chunk delayed 0-10 ms: no set outlives its delete', async () => {
    const { storage, truth } = await storages(await openPool(4), 20_000)
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`)
    proxy.jitter(10)
    try {
      await Promise.all(keys.flatMap((key) => [storage.set(NS, key, 'stale'), storage.delete(NS, key)]))
    } finally {
      proxy.jitter(0)
    }
    const survivors = (await Promise.all(keys.map((key) => truth.get(NS, key)))).filter((entry) => entry !== undefined)
    expect(survivors).toHaveLength(0)
  }, 60_000)
})

describe('a single connection', () => {
  it.each<[string, () => Promise<Client>]>([
    [
      'node-redis createClient',
      async () => {
        const client = createClient({ url: proxyUrl() })
        client.on('error', () => undefined)
        await client.connect()
        return cleanup.track(client)
      },
    ],
    ['ioredis Redis', async () => ioredis.redis(proxyUrl())],
  ])('%s: the delete is sent behind a held set at once (no wait for its reply), and order holds', async (_, open) => {
    const { storage, truth } = await storages(await open())
    const key = uid('key')
    const value = uid('stale')
    const held = proxy.holdNext(value, 300)
    const writing = storage.set(NS, key, value)
    const deleting = storage.delete(NS, key)
    await sleep(100)
    // The delete's script call already reached the proxy on the held connection, behind the set.
    expect(held.received()).toMatch(/EVALSHA/i)
    await Promise.all([writing, deleting])
    expect(await truth.get(NS, key)).toBeUndefined()
  })

  it('only pools and Sentinel clients have their writes tracked', () => {
    expect(reordersCommands(createClient())).toBe(false)
    expect(reordersCommands(createClient().withTypeMapping({}))).toBe(false)
    expect(reordersCommands(createCluster({ rootNodes: [{ url: `redis://${HOST}:1` }] }))).toBe(false)
    expect(reordersCommands(new Redis({ lazyConnect: true }))).toBe(false)
    expect(reordersCommands(new Cluster([], { lazyConnect: true }))).toBe(false)
    expect(reordersCommands(createClientPool())).toBe(true)
    expect(reordersCommands(createClientPool().withTypeMapping({}))).toBe(true)
    expect(reordersCommands(createSentinel({ name: 'x', sentinelRootNodes: [{ host: HOST, port: 1 }] }))).toBe(true)
  })
})

describe('a Sentinel client with two master connections (masterPoolSize: 2)', () => {
  let sentinel: RedisSentinelProcesses
  let masterProxy: HoldingProxy
  beforeAll(async () => {
    sentinel = await startRedisSentinel(
      envPort('REDIS_POOL_ORDER_SENTINEL_DATA_PORT', 7340),
      envPort('REDIS_POOL_ORDER_SENTINEL_PORT', 7342),
    )
    masterProxy = await startProxy(sentinel.master.port)
  }, 60_000)
  afterAll(async () => {
    // The Sentinel client and its storages first, while their servers still answer.
    await cleanup.disposeAll()
    masterProxy?.close()
    await sentinel?.stop()
  }, 60_000)

  it('a delete issued with a set (same tick) does not run before it', async () => {
    const master = `${HOST}:${sentinel.master.port}`
    const client = createSentinel({
      name: sentinel.name,
      sentinelRootNodes: [...sentinel.sentinelRootNodes],
      masterPoolSize: 2,
      // The master's connections go through the proxy.
      nodeAddressMap: (address) => (address === master ? { host: HOST, port: masterProxy.port } : undefined),
    })
    client.on('error', () => undefined)
    await client.connect()
    cleanup.track(client)
    const { storage, truth } = await storages(client, 2000, sentinel.master.url)
    const key = uid('key')
    const value = uid('stale')
    const held = masterProxy.holdNext(value, 300)
    await Promise.all([storage.set(NS, key, value), storage.delete(NS, key)])
    await held.answered
    expect(await truth.get(NS, key)).toBeUndefined()
  }, 30_000)
})
