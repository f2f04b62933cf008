// redisStorage over an ioredis standalone client: the contract suite on the shared server (node-redis storages
// read its entries: same keys, same payloads, same scope), the commands it sends, keyPrefix, connecting a
// lazyConnect client, scope from ioredis options, and validation.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { ConfigError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { createCluster } from 'redis'
import { timed, uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import { disposer, envPort, type RedisProcess, redisCli, sharedRedis, startRedisServer } from './servers'

const BASE = envPort('REDIS_SPARE_PORT', 7200)
// Nothing listens here: connections are refused.
const DOWN_PORT = BASE + 21

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const clients = ioredisClients()
const ioredis = clients.redis

let shared: Awaited<ReturnType<typeof sharedRedis>>
// The user's clients: the suite closes storages, which must leave these open.
let user: Redis
let userDb1: Redis
let own: RedisProcess

beforeAll(async () => {
  shared = await sharedRedis(BASE + 20)
  user = ioredis(shared.url)
  const db1 = new URL(shared.url)
  db1.pathname = '/1'
  userDb1 = ioredis(db1.href)
  await Promise.all([user.ping(), userDb1.ping()])
  own = await startRedisServer(BASE + 22)
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await clients.closeAll()
  await own?.stop()
  await shared?.stop()
}, 60_000)

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'redis standalone (ioredis client)',
    leases: true,
    getThen: true,
    create: ({ prefix }) => redisStorage({ client: user, prefix }),
    scope: {
      // A node-redis storage on the same server shares the entries: one key layout and payload for both clients.
      createSame: ({ prefix }) => redisStorage({ url: shared.url, prefix }),
      createElsewhere: ({ prefix }) => redisStorage({ client: userDb1, prefix }),
    },
  },
)

describe('an ioredis client', () => {
  it('stays open and usable after the storages using it closed', async () => {
    const storage = redisStorage({ client: user, prefix: uid('io-open') })
    await storage.set('ns', 'k', 1)
    const write = storage.set('ns', 'k', 2)
    await storage.close()
    await expect(write).resolves.toBeUndefined()
    await expect(storage.get('ns', 'k')).rejects.toMatchObject({ name: 'StorageError', op: 'get' })
    expect(user.status).toBe('ready')
    expect(await user.ping()).toBe('PONG')
  })

  it('gets SET with PX rounded up to whole ms, NX for add, no expiry without ttl', async () => {
    const prefix = uid('io-set')
    const storage = open({ client: user, prefix })
    await storage.set('ns', 'ttl', 1, { ttl: 1500.2 })
    const pttl = Number(await user.pttl(`${prefix}:ns:ttl`))
    expect(pttl).toBeGreaterThan(1400)
    expect(pttl).toBeLessThanOrEqual(1501)
    await storage.set('ns', 'forever', 1)
    expect(await user.pttl(`${prefix}:ns:forever`)).toBe(-1)
    expect(await storage.add('ns', 'a', 'first', { ttl: 10_000 })).toBe(true)
    expect(await storage.add('ns', 'a', 'second', { ttl: 10_000 })).toBe(false)
    expect(await storage.add('ns', 'b', 'no ttl')).toBe(true)
    expect(await user.pttl(`${prefix}:ns:b`)).toBe(-1)
    expect((await storage.get('ns', 'a'))?.value).toBe('first')
    expect(await storage.delete('ns', 'a')).toBe(true)
    expect(await storage.delete('ns', 'a')).toBe(false)
    await storage.clear('ns')
  })

  it('costs exactly one command per hit, miss, write, add and delete', async () => {
    const client = ioredis(own.url)
    const storage = open({ client, prefix: uid('io-rt') })
    await storage.set('ns', 'warm', 1)
    const counts = async (): Promise<Map<string, number>> => {
      const out = await redisCli(own.port, 'info', 'commandstats')
      return new Map([...out.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)].map((m) => [m[1] ?? '', Number(m[2])]))
    }
    const measure = async (action: () => Promise<unknown>): Promise<Record<string, number>> => {
      const before = await counts()
      await action()
      const delta: Record<string, number> = {}
      for (const [name, calls] of await counts()) {
        if (name !== 'info' && calls > (before.get(name) ?? 0)) delta[name] = calls - (before.get(name) ?? 0)
      }
      return delta
    }
    expect(await measure(() => storage.get('ns', 'warm'))).toEqual({ get: 1 })
    expect(await measure(() => storage.get('ns', 'absent'))).toEqual({ get: 1 })
    expect(await measure(() => storage.set('ns', 'k', { a: [1, 2] }, { ttl: 10_000 }))).toEqual({ set: 1 })
    expect(await measure(() => storage.add('ns', 'k2', 2, { ttl: 10_000 }))).toEqual({ set: 1 })
    // delete is one script unlinking the entry and its lease (the server counts the script's UNLINKs too). The
    // server learns the script on the first call (EVALSHA answers NOSCRIPT, then EVAL), made here beforehand.
    await storage.delete('ns', 'absent')
    expect(await measure(() => storage.delete('ns', 'k'))).toEqual({ evalsha: 1, unlink: 2 })
  })

  it('clears through a client keyPrefix (which ioredis adds to keys but not to SCAN) and leaves neighbours', async () => {
    const prefix = uid('io-kp')
    const tenant = `${uid('tenant')}*:`
    const prefixed = open({ client: ioredis(shared.url, { keyPrefix: tenant }), prefix })
    const plain = open({ client: user, prefix })
    await Promise.all(Array.from({ length: 30 }, (_, i) => prefixed.set('ns', `k${i}`, i)))
    await plain.set('ns', 'k0', 'plain')
    expect(await user.exists(`${tenant}${prefix}:ns:k0`)).toBe(1)
    await prefixed.clear('ns')
    expect(await user.exists(Array.from({ length: 30 }, (_, i) => `${tenant}${prefix}:ns:k${i}`))).toBe(0)
    expect((await plain.get('ns', 'k0'))?.value).toBe('plain')
    await plain.clear('ns')
  })

  it('connects a lazyConnect client once for storages sharing it, and leaves it open', async () => {
    const client = ioredis(own.url, { lazyConnect: true })
    expect(client.status).toBe('wait')
    const a = redisStorage({ client, prefix: uid('lazyA') })
    const b = redisStorage({ client, prefix: uid('lazyB') })
    await Promise.all([a.set('ns', 'k', 'a'), b.set('ns', 'k', 'b')])
    expect((await a.get('ns', 'k'))?.value).toBe('a')
    expect((await b.get('ns', 'k'))?.value).toBe('b')
    await Promise.all([a.clear('ns'), b.clear('ns'), a.close(), b.close()])
    expect(client.status).toBe('ready')
  })

  it('waits for the first connect of a client with enableOfflineQueue: false, one listener for all storages', async () => {
    const client = ioredis(own.url, { enableOfflineQueue: false })
    const listeners = client.listenerCount('ready')
    const storages = Array.from({ length: 12 }, (_, i) => open({ client, prefix: uid(`first${i}`) }))
    const writes = storages.map((storage) => storage.set('ns', 'k', 1))
    expect(client.listenerCount('ready')).toBeLessThanOrEqual(listeners + 1)
    await expect(Promise.all(writes)).resolves.toHaveLength(12)
    expect((await storages[11]?.get('ns', 'k'))?.value).toBe(1)
  })

  it('fails with a StorageError naming the server, never the password', async () => {
    // retryStrategy: () => null: the client ends after its failed connect instead of retrying past the test.
    const client = ioredis(`redis://:s3cret@127.0.0.1:${DOWN_PORT}`, { lazyConnect: true, retryStrategy: () => null })
    // Refused connections fail at once; the long timeout tells that apart from a timed-out call on a loaded runner.
    const storage = open({ client, prefix: uid('io-down'), operationTimeoutMs: 3000 })
    for (let i = 0; i < 2; i++) {
      const { error, ms } = await timed(() => storage.get('ns', 'k'))
      expect(error).toMatchObject({ name: 'StorageError', op: 'get', storage: 'redis' })
      const message = (error as Error).message
      expect(message).toMatch(new RegExp(`^redis get on 127\\.0\\.0\\.1:${DOWN_PORT} `))
      expect(message).not.toContain('s3cret')
      expect(ms).toBeLessThan(1500)
    }
  })
})

describe('scope of an ioredis client', () => {
  // Scope checks connect nowhere: lazyConnect clients never open a socket unless a command is sent.
  const lazy: RedisOptions = { lazyConnect: true }
  const scopeOf = (client: Redis | Cluster, prefix = 'p'): string => open({ client, prefix }).scope

  it('is host:port/db like the node-redis one for the same server, never the password', () => {
    const io = new Redis({ ...lazy, host: '127.0.0.1', port: 6379, db: 2, password: 's3cret' })
    expect(scopeOf(io)).toBe('redis://127.0.0.1:6379/2 p:')
    expect(scopeOf(io)).toBe(open({ url: 'redis://127.0.0.1:6379/2', prefix: 'p' }).scope)
    expect(scopeOf(new Redis('redis://:s3cret@127.0.0.1:6379', lazy))).toBe('redis://127.0.0.1:6379/0 p:')
    expect(scopeOf(new Redis('rediss://127.0.0.1:6379', lazy))).toBe('rediss://127.0.0.1:6379/0 p:')
    expect(scopeOf(new Redis({ ...lazy, path: '/tmp/redis.sock' }))).toBe('redis+unix:///tmp/redis.sock?db=0 p:')
    expect(scopeOf(new Redis({ ...lazy, keyPrefix: 'tenant:' }))).toBe('redis://localhost:6379/0 tenant:p:')
  })

  it('names a cluster by its sorted startup nodes, like node-redis', () => {
    const io = new Cluster([{ host: '10.0.0.2', port: 7000 }, 'redis://:s3cret@10.0.0.1:7000'], lazy)
    const node = createCluster({ rootNodes: [{ url: 'redis://10.0.0.1:7000' }, { url: 'redis://10.0.0.2:7000' }] })
    expect(scopeOf(io)).toBe('redis-cluster://10.0.0.1:7000,10.0.0.2:7000 p:')
    expect(scopeOf(io)).toBe(open({ client: node, prefix: 'p' }).scope)
    expect(scopeOf(new Cluster([7001, '10.0.0.3:7002'], lazy))).toBe('redis-cluster://10.0.0.3:7002,127.0.0.1:7001 p:')
  })

  it('names a Sentinel setup by its sentinels, master name and db', () => {
    const io = new Redis({ ...lazy, sentinels: [{ host: '10.0.0.9', port: 26379 }], name: 'mymaster', db: 1 })
    expect(scopeOf(io)).toBe('redis-sentinel://10.0.0.9:26379/mymaster/1 p:')
  })
})

describe('validation', () => {
  it('rejects an ioredis-like object lacking a command with a ConfigError naming it', () => {
    const fake = {
      status: 'ready',
      isCluster: false,
      get: () => 1,
      set: () => 1,
      unlink: () => 1,
      connect: () => 1,
      once: () => 1,
      off: () => 1,
    }
    let thrown: unknown
    try {
      redisStorage({ client: fake as never })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    expect((thrown as Error).message).toContain(
      'client looks like an ioredis Redis but lacks evalsha, eval, scanBuffer',
    )
  })
})
