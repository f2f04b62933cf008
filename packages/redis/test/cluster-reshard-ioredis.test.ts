// redisStorage over an ioredis Cluster client on a real 6-node Redis Cluster while slots move between masters
// (resharding, step by step: reshard.ts), with operations sent while a slot is half moved. Unlike node-redis, ioredis
// retries a TRYAGAIN itself (every retryDelayOnTryAgain, 100 ms, on a random master, up to maxRedirections, 16): about
// 1 to 1.7 s, longer than memokit's default operationTimeoutMs (1000 ms).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, redisStorage } from '@memokit/redis'
import type { Cluster, Redis } from 'ioredis'
import { ioredisClients } from './ioredis-clients'
import { entryWalksInOrder, type ReshardCluster, startReshardCluster } from './reshard'
import { disposer, envPort } from './servers'

const cleanup = disposer()
const clients = ioredisClients()
let cluster: ReshardCluster

// The README's options; ioredis' retry settings are left at their defaults, as most users leave them.
const clusterClient = (): Cluster =>
  clients.cluster(
    cluster.processes.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    { enableOfflineQueue: false, slotsRefreshInterval: 1000 },
  )

beforeAll(async () => {
  cluster = await startReshardCluster(envPort('REDIS_IOREDIS_RESHARD_CLUSTER_PORT', 7870))
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await clients.closeAll()
  await cluster?.stop()
}, 60_000)

const PREFIX = 'io-reshard'
const T1 = 'a'.repeat(16)
const T2 = 'b'.repeat(16)
const placeOf = (ns: string, key: string) => cluster.placeOf(`${PREFIX}:${ns}:${key}`)
// Both keys of `key` (entry and lease) on each master: [on `from`, on `to`].
const split = async (slot: number, from: string, to: string): Promise<number[]> => [
  await cluster.countInSlot(from, slot),
  await cluster.countInSlot(to, slot),
]

function storageOver(client: Cluster, operationTimeoutMs = 1000): RedisStorage {
  return cleanup.track(redisStorage({ client, prefix: PREFIX, operationTimeoutMs }))
}

// What a call settled with, as text: its value, or that it failed (a StorageError: refused).
const outcome = (work: Promise<unknown>): Promise<string> =>
  work.then(
    (value) => JSON.stringify(value),
    (error: unknown) => (error instanceof Error ? error.name : 'failed'),
  )

describe('a slot being migrated (ioredis Cluster)', () => {
  it('delete removes the entry and its lease at the move start, entry and lease together', async () => {
    const storage = storageOver(clusterClient())
    const ns = 'delete'
    const { slot, from, to } = placeOf(ns, 'k')
    await storage.set(ns, 'k', 'old')
    const seen: string[] = []
    await cluster.migrateSlot(slot, to, async (moved) => {
      if (moved !== 0) return
      // MIGRATING, nothing moved: the entry is on the source, its lease exists nowhere.
      seen.push(`delete ${await outcome(storage.delete(ns, 'k'))}`)
      seen.push(`get ${await outcome(storage.get(ns, 'k'))}`)
      // Both keys again, as new keys of the migrating slot: created on the importing node (ASK).
      await storage.set(ns, 'k', 'old2')
      seen.push(`acquire ${await storage.acquireLease(ns, 'k', T1, 60_000)}`)
      seen.push(`delete ${await outcome(storage.delete(ns, 'k'))}`)
      seen.push(`get ${await outcome(storage.get(ns, 'k'))}`)
      seen.push(`acquire ${await storage.acquireLease(ns, 'k', T2, 60_000)}`)
      seen.push(`release ${await storage.releaseLease(ns, 'k', T2)}`)
    })
    expect(seen).toEqual([
      'delete true',
      'get undefined',
      'acquire true',
      'delete true',
      'get undefined',
      'acquire true',
      'release true',
    ])
    expect(await split(slot, from, to)).toEqual([0, 0])
  }, 30_000)

  it('delete with the entry and its lease on two nodes: both go, and the old holder stores nothing', async () => {
    const storage = storageOver(clusterClient())
    const ns = 'split'
    const { slot, from, to } = placeOf(ns, 'k')
    await storage.set(ns, 'k', 'old')
    expect(await storage.acquireLease(ns, 'k', T1, 60_000)).toBe(true)
    const seen: string[] = []
    await cluster.migrateSlot(slot, to, async (moved) => {
      if (moved !== 1) return
      seen.push(`split ${JSON.stringify(await split(slot, from, to))}`)
      seen.push(`delete ${await outcome(storage.delete(ns, 'k'))}`)
      // The holder's fenced write after the delete: false, or refused (TRYAGAIN until the move ends).
      const fenced = await outcome(storage.setIfLeased(ns, 'k', 'late', T1))
      seen.push(`fenced ${fenced === 'StorageError' ? 'false' : fenced}`)
      seen.push(`get ${await outcome(storage.get(ns, 'k'))}`)
    })
    expect(seen).toEqual(['split [1,1]', 'delete true', 'fenced false', 'get undefined'])
    expect(await storage.get(ns, 'k')).toBeUndefined()
    expect(await storage.acquireLease(ns, 'k', T2, 60_000)).toBe(true)
    await storage.releaseLease(ns, 'k', T2)
  }, 30_000)

  it('a fenced write waiting out the move never stores over a delete made meanwhile', async () => {
    const storage = storageOver(clusterClient())
    const ns = 'fenced'
    const { slot, from, to } = placeOf(ns, 'k')
    await storage.set(ns, 'k', 'old')
    expect(await storage.acquireLease(ns, 'k', T1, 60_000)).toBe(true)
    const seen: string[] = []
    let fenced: Promise<string> = Promise.resolve('not sent')
    await cluster.migrateSlot(slot, to, async (moved) => {
      if (moved !== 1) return
      seen.push(`split ${JSON.stringify(await split(slot, from, to))}`)
      // Refused with TRYAGAIN (entry and lease on two nodes), which ioredis retries until the move ends or it gives up.
      fenced = outcome(storage.setIfLeased(ns, 'k', 'late', T1))
      seen.push(`delete ${await outcome(storage.delete(ns, 'k'))}`)
    })
    // Stored nothing (false), or refused: never 'late' over the delete.
    expect(['false', 'StorageError']).toContain(await fenced)
    expect(seen).toEqual(['split [1,1]', 'delete true'])
    expect(await storage.get(ns, 'k')).toBeUndefined()
    expect(await storage.acquireLease(ns, 'k', T2, 60_000)).toBe(true)
    expect(await storage.setIfLeased(ns, 'k', 'new', T2)).toBe(true)
    expect((await storage.get(ns, 'k'))?.value).toBe('new')
  }, 30_000)
})

// Makes the cluster client's walk for entries (not leases) on the master `hold` start only once the one on the master
// `first` is over, and then runs `between` before it: the masters clear reaches (`nodes('master')`) are wrapped.
function scansInOrder(client: Cluster, first: number, hold: number, between: () => Promise<void>): void {
  const step = entryWalksInOrder(first, hold, between)
  const nodes = client.nodes.bind(client)
  const replaced = (role: 'master') =>
    nodes(role).map(
      (master: Redis) =>
        new Proxy(master, {
          get(target, prop) {
            if (prop !== 'scanBuffer') return Reflect.get(target, prop)
            return (cursor: string, ...args: (string | Buffer)[]) =>
              step(
                Number(target.options.port),
                cursor,
                args[1] as string | Buffer,
                () => target.scanBuffer(cursor, ...(args as ['MATCH', string])),
                (reply) => String(reply[0]),
              )
          },
        }),
    )
  Object.assign(client, { nodes: replaced })
}

describe('clear while slots move (ioredis Cluster)', () => {
  it('finds an entry that moved from a master not scanned yet to one already scanned', async () => {
    const client = clusterClient()
    const ns = 'clear'
    const { slot, from, to } = placeOf(ns, 'k')
    // The source's walk for entries starts once the destination's is over and the slot has moved there.
    scansInOrder(client, cluster.portOf(to), cluster.portOf(from), () => cluster.migrateSlot(slot, to))
    const storage = storageOver(client, 5000)
    await storage.set(ns, 'k', 'old')
    await storage.clear(ns)
    expect(await storage.get(ns, 'k')).toBeUndefined()
    expect(await cluster.countInSlot(to, slot)).toBe(0)
  }, 30_000)
})
