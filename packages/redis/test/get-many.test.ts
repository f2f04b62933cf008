// getMany on Redis: one MGET on a standalone server, one MGET per hash slot on a real Cluster (node-redis and
// ioredis clients, with and without a client keyPrefix), answers in the order asked and decoded as `get` decodes
// them; the slot function checked against the server's own CLUSTER KEYSLOT.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { CodecError, StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import fc from 'fast-check'
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis'
import { keySlot } from '../src/slots'
import { uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import {
  disposer,
  envPort,
  type RedisClusterProcesses,
  sharedRedis,
  startRedisCluster,
  startRedisServer,
} from './servers'

const cleanup = disposer()
const clients = ioredisClients()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))

let cluster: RedisClusterProcesses
let nodeCluster: RedisClusterType
let plain: RedisClientType // one cluster node, asked for CLUSTER KEYSLOT
let shared: { url: string; stop(): Promise<void> }
let standalone: RedisClientType

beforeAll(async () => {
  shared = await sharedRedis(envPort('REDIS_SPARE_PORT', 7200) + 14)
  standalone = cleanup.track(createClient({ url: shared.url }) as RedisClientType)
  await standalone.connect()
  cluster = await startRedisCluster(envPort('REDIS_GET_MANY_CLUSTER_PORT', 7270))
  nodeCluster = cleanup.track(createCluster({ rootNodes: [...cluster.rootNodes] }) as RedisClusterType)
  nodeCluster.on('error', () => {})
  plain = cleanup.track(createClient({ url: cluster.rootNodes[0]?.url }) as RedisClientType)
  await plain.connect()
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await clients.closeAll()
  await cluster?.stop()
  await shared?.stop()
}, 60_000)

// The object in a client's prototype chain that defines `name`, so a spy sees calls through views of the client.
function owner<T extends object>(client: T, name: string): T {
  let o: object | null = client
  while (o !== null && !Object.hasOwn(o, name)) o = Object.getPrototypeOf(o)
  return (o ?? client) as T
}

const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)

async function writeAll(storage: RedisStorage, ns: string): Promise<void> {
  await Promise.all(keys.map((k, i) => (i % 3 === 2 ? undefined : storage.set(ns, k, { i, at: new Date(i) }))))
}

// The asked order (reversed, a duplicate, misses) back from one call, equal to what `get` answers key by key.
async function expectLikeGet(storage: RedisStorage, ns: string): Promise<void> {
  const asked = [...keys].reverse().concat(['k0', 'missing'])
  const found = await storage.getMany?.(ns, asked)
  expect(found).toHaveLength(asked.length)
  const one = await Promise.all(asked.map((k) => storage.get(ns, k)))
  expect(found).toEqual(one)
  expect(found?.[asked.length - 2]?.value).toEqual({ i: 0, at: new Date(0) })
  expect(found?.filter((e) => e === undefined)).toHaveLength(
    asked.filter((k) => Number(k.slice(1)) % 3 === 2).length + 1,
  )
}

describe('redis getMany', () => {
  it('computes the slot the server computes (hash tags, UTF-8, empty and odd braces)', async () => {
    const fixed = ['', 'a', '{', '}', '{}', '{}x', 'a{b}c', 'a{}{b}', '{{b}}', 'é{ü}', '😀', 'memokit/p:ns:{user1}:x']
    const arb = fc
      .array(fc.constantFrom('a', 'b', '{', '}', 'é', '😀', ':', 'Z'), { maxLength: 12 })
      .map((p) => p.join(''))
    const random = fc.sample(fc.oneof(arb, fc.string({ unit: 'binary', maxLength: 20 })), 150)
    for (const key of [...fixed, ...random.filter((k) => !/[\uD800-\uDFFF]/.test(k))]) {
      expect([key, keySlot(key)]).toEqual([key, Number(await plain.sendCommand(['CLUSTER', 'KEYSLOT', key]))])
    }
  })

  it('sends one MGET on a standalone server; [] without a round trip', async () => {
    const storage = open({ client: standalone, prefix: uid('gm') })
    await writeAll(storage, 'ns')
    // The storage sends through a view of the client (withCommandOptions), which shares its prototype's commands.
    const mGet = jest.spyOn(owner(standalone, 'mGet'), 'mGet')
    try {
      await expectLikeGet(storage, 'ns')
      expect(mGet).toHaveBeenCalledTimes(1)
      expect(await storage.getMany?.('ns', [])).toEqual([])
      expect(mGet).toHaveBeenCalledTimes(1)
    } finally {
      mGet.mockRestore()
    }
  })

  it('rejects with the CodecError get gives when one payload among good ones is corrupt', async () => {
    const prefix = uid('gm-bad')
    const storage = open({ client: standalone, prefix })
    await writeAll(storage, 'ns')
    await standalone.set(`${prefix}:ns:k1`, 'not a memokit payload', { expiration: { type: 'PX', value: 60_000 } })
    const fromGet = await storage.get('ns', 'k1').catch((error: unknown) => error)
    expect(fromGet).toBeInstanceOf(CodecError)
    await expect(storage.getMany?.('ns', ['k0', 'k1', 'k3'])).rejects.toThrow((fromGet as Error).message)
    await expect(storage.getMany?.('ns', ['k0', 'k3'])).resolves.toEqual([
      await storage.get('ns', 'k0'),
      await storage.get('ns', 'k3'),
    ])
  })

  it('reads keys of many slots in one call on a node-redis cluster: one MGET per slot', async () => {
    const storage = open({ client: nodeCluster, prefix: uid('gm-c') })
    await writeAll(storage, 'ns')
    const slots = new Set([...keys, 'missing'].map((k) => keySlot(`${storage.scope.split(' ').at(-1)}ns:${k}`)))
    expect(slots.size).toBeGreaterThan(30)
    const mGet = jest.spyOn(nodeCluster, 'mGet')
    try {
      await expectLikeGet(storage, 'ns')
      expect(mGet).toHaveBeenCalledTimes(slots.size)
    } finally {
      mGet.mockRestore()
    }
  })

  it('groups by the slot of the prefixed key on an ioredis cluster with a keyPrefix', async () => {
    for (const keyPrefix of [undefined, 'app:', '{tenant}:']) {
      const io = clients.cluster(
        cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
        keyPrefix === undefined ? {} : { keyPrefix },
      )
      const storage = open({ client: io, prefix: uid('gm-io') })
      await writeAll(storage, 'ns')
      const mget = jest.spyOn(io, 'mget')
      await expectLikeGet(storage, 'ns')
      // A hash-tag keyPrefix puts every key in one slot: one MGET.
      if (keyPrefix === '{tenant}:') expect(mget).toHaveBeenCalledTimes(1)
      else expect(mget.mock.calls.length).toBeGreaterThan(30)
      mget.mockRestore()
    }
  })

  it('equals get key by key for any key list on a cluster (hash tags, duplicates, misses)', async () => {
    const storage = open({ client: nodeCluster, prefix: uid('gm-prop') })
    const key = fc.oneof(fc.constantFrom('a', 'b', '{t}x', '{t}y', 'é', '{}', '{'), fc.string({ maxLength: 6 }))
    const written = new Set<string>()
    await fc.assert(
      fc.asyncProperty(fc.array(key, { maxLength: 12 }), fc.array(key, { maxLength: 12 }), async (toWrite, asked) => {
        for (const k of toWrite.filter((k) => !/[\uD800-\uDFFF]/.test(k))) {
          if (!written.has(k)) await storage.set('ns', k, { k })
          written.add(k)
        }
        const safe = asked.filter((k) => !/[\uD800-\uDFFF]/.test(k))
        expect(await storage.getMany?.('ns', safe)).toEqual(await Promise.all(safe.map((k) => storage.get('ns', k))))
      }),
      { numRuns: 40 },
    )
  })

  it('is bounded by operationTimeoutMs like get: a hung server rejects with a StorageError', async () => {
    const own = await startRedisServer(envPort('REDIS_SPARE_PORT', 7200) + 15)
    const storage = redisStorage({ url: own.url, prefix: uid('gm-hung'), operationTimeoutMs: 150 })
    try {
      await storage.set('ns', 'a', 1)
      own.signal('SIGSTOP')
      const error = await storage.getMany?.('ns', ['a', 'b']).catch((e: unknown) => e)
      own.signal('SIGCONT')
      expect(error).toBeInstanceOf(StorageError)
      expect(String((error as Error).message)).toContain('timed out')
      expect((await storage.getMany?.('ns', ['b', 'a']))?.map((e) => e?.value)).toEqual([undefined, 1])
    } finally {
      own.signal('SIGCONT')
      await storage.close().catch(() => undefined)
      await own.stop()
    }
  })
})
