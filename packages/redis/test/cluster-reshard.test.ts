// redisStorage on a real 6-node Redis Cluster while slots move between masters (resharding, done here step by step
// as `redis-cli --cluster reshard` does it: SETSLOT IMPORTING/MIGRATING, MIGRATE key by key, SETSLOT NODE), with
// operations sent while a slot is half moved: they meet ASK redirections and TRYAGAIN. Small and deterministic: a
// few slots holding known keys, each step awaited.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, redisStorage } from '@memokit/redis'
import { createCluster, type RedisClusterType } from 'redis'
import { leaseKey } from '../src/lease-keys'
import { entryWalksInOrder, type ReshardCluster, startReshardCluster } from './reshard'
import { disposer, envPort, FAILOVER_SOCKET } from './servers'

const cleanup = disposer()
let cluster: ReshardCluster

function clusterClient(): RedisClusterType {
  const c = createCluster({
    rootNodes: [...cluster.processes.rootNodes],
    defaults: { disableOfflineQueue: true, socket: FAILOVER_SOCKET },
    topologyRefreshOnReconnectionAttemptStrategy: 200,
  }) as RedisClusterType
  c.on('error', () => {})
  return cleanup.track(c)
}

beforeAll(async () => {
  cluster = await startReshardCluster(envPort('REDIS_RESHARD_CLUSTER_PORT', 7860))
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await cluster?.stop()
}, 60_000)

const PREFIX = 'reshard'
const phys = (ns: string, key: string): string => `${PREFIX}:${ns}:${key}`
const countInSlot = (id: string, slot: number): Promise<number> => cluster.countInSlot(id, slot)
const migrateSlot: ReshardCluster['migrateSlot'] = (...args) => cluster.migrateSlot(...args)
const T1 = 'a'.repeat(16)
const T2 = 'b'.repeat(16)

function storageOver(client: RedisClusterType, operationTimeoutMs = 1000): RedisStorage {
  return cleanup.track(redisStorage({ client, prefix: PREFIX, operationTimeoutMs }))
}

// The slot of `key` in `ns`, the master holding it, and another master to move it to.
const placeOf = (ns: string, key: string): { slot: number; from: string; to: string } => cluster.placeOf(phys(ns, key))

describe('a slot being migrated', () => {
  it('delete removes the entry and its lease at every step of the move (no TRYAGAIN)', async () => {
    const storage = storageOver(clusterClient())
    const ns = 'delete'
    const { slot, from, to } = placeOf(ns, 'k')
    await storage.set(ns, 'k', 'old')
    const seen: string[] = []
    await migrateSlot(slot, to, async (moved) => {
      if (moved === 0) {
        // MIGRATING, nothing moved: the entry is on the source, its lease exists nowhere.
        seen.push(`delete ${await storage.delete(ns, 'k')}`)
        seen.push(`get ${JSON.stringify(await storage.get(ns, 'k'))}`)
        // Both keys again, this time as new keys of a migrating slot: created on the importing node (ASK).
        await storage.set(ns, 'k', 'old2')
        seen.push(`acquire ${await storage.acquireLease(ns, 'k', T1, 60_000)}`)
        seen.push(`delete ${await storage.delete(ns, 'k')}`)
        seen.push(`get ${JSON.stringify(await storage.get(ns, 'k'))}`)
        // The lease went with the entry: another token takes it.
        seen.push(`acquire ${await storage.acquireLease(ns, 'k', T2, 60_000)}`)
        seen.push(`release ${await storage.releaseLease(ns, 'k', T2)}`)
      }
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
    expect(await countInSlot(from, slot)).toBe(0)
    expect(await countInSlot(to, slot)).toBe(0)
  }, 30_000)

  it('delete with the entry moved and its lease not yet: both go, and the old holder stores nothing', async () => {
    const storage = storageOver(clusterClient())
    const ns = 'split'
    const { slot, from, to } = placeOf(ns, 'k')
    await storage.set(ns, 'k', 'old')
    expect(await storage.acquireLease(ns, 'k', T1, 60_000)).toBe(true)
    const seen: string[] = []
    await migrateSlot(slot, to, async (moved) => {
      if (moved !== 1) return
      // One of the two keys is on each node now.
      seen.push(`split ${(await countInSlot(from, slot)) === 1 && (await countInSlot(to, slot)) === 1}`)
      seen.push(`delete ${await storage.delete(ns, 'k')}`)
      // The holder's fenced write after the delete: refused (false), or failed (TRYAGAIN): never stored.
      seen.push(`fenced ${await storage.setIfLeased(ns, 'k', 'late', T1).catch(() => false)}`)
      seen.push(`get ${JSON.stringify(await storage.get(ns, 'k'))}`)
    })
    expect(seen).toEqual(['split true', 'delete true', 'fenced false', 'get undefined'])
    expect(await storage.get(ns, 'k')).toBeUndefined()
    expect(await storage.acquireLease(ns, 'k', T2, 60_000)).toBe(true)
    await storage.releaseLease(ns, 'k', T2)
  }, 30_000)

  it('a lease moves with its entry: released and deleted on the node it moved to', async () => {
    const storage = storageOver(clusterClient())
    const ns = 'moves'
    const { slot, to } = placeOf(ns, 'k')
    await storage.set(ns, 'k', 'v')
    expect(await storage.acquireLease(ns, 'k', T1, 60_000)).toBe(true)
    await migrateSlot(slot, to)
    const there = await cluster.keysInSlot(to, slot, 10)
    expect(there.map((k) => k.toString('hex')).sort()).toEqual(
      [Buffer.from(phys(ns, 'k')), leaseKey(phys(ns, 'k'), '')].map((k) => k.toString('hex')).sort(),
    )
    expect(await storage.extendLease(ns, 'k', T1, 60_000)).toBe(true)
    expect(await storage.setIfLeased(ns, 'k', 'new', T1)).toBe(true)
    expect((await storage.get(ns, 'k'))?.value).toBe('new')
    expect(await storage.delete(ns, 'k')).toBe(true)
  }, 30_000)
})

// Makes the cluster client's walk for entries (not leases) on the master `hold` start only once the one on the master
// `first` is over, and then runs `between` before it.
function scansInOrder(client: RedisClusterType, first: number, hold: number, between: () => Promise<void>): void {
  const step = entryWalksInOrder(first, hold, between)
  const nodeClient = client.nodeClient.bind(client)
  const replaced = async (master: { port: number }) => {
    const n = (await nodeClient(master as never)) as unknown as { withTypeMapping(m: unknown): unknown }
    return new Proxy(n, {
      get(target, prop) {
        if (prop !== 'withTypeMapping') return Reflect.get(target, prop)
        return (mapping: unknown) => {
          const typed = target.withTypeMapping(mapping) as {
            scan(c: string, o: { MATCH: string }): Promise<{ cursor: unknown }>
          }
          return {
            scan: (cursor: string, options: { MATCH: string }) =>
              step(
                master.port,
                cursor,
                options.MATCH,
                () => typed.scan(cursor, options),
                (reply) => String(reply.cursor),
              ),
          }
        }
      },
    })
  }
  Object.assign(client, { nodeClient: replaced })
}

describe('clear while slots move', () => {
  it('finds an entry that moved from a master not scanned yet to one already scanned', async () => {
    const client = clusterClient()
    const ns = 'clear'
    const { slot, from, to } = placeOf(ns, 'k')
    // The source's walk for entries starts once the destination's is over and the slot has moved there.
    scansInOrder(client, cluster.portOf(to), cluster.portOf(from), () => migrateSlot(slot, to))
    const storage = storageOver(client, 5000)
    await storage.set(ns, 'k', 'old')
    await storage.clear(ns)
    expect(await storage.get(ns, 'k')).toBeUndefined()
    expect(await countInSlot(to, slot)).toBe(0)
  }, 30_000)
})
