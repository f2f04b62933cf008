// redisStorage on a real 6-node Redis Cluster while slots move between masters (resharding, done here step by step
// as `redis-cli --cluster reshard` does it: SETSLOT IMPORTING/MIGRATING, MIGRATE key by key, SETSLOT NODE), with
// operations sent while a slot is half moved: they meet ASK redirections and TRYAGAIN. Small and deterministic: a
// few slots holding known keys, each step awaited.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, redisStorage } from '@memokit/redis'
import { createClient, createCluster, RESP_TYPES, type RedisClientType, type RedisClusterType } from 'redis'
import { leaseKey } from '../src/lease-keys'
import { keySlot } from '../src/slots'
import { disposer, envPort, FAILOVER_SOCKET, type RedisClusterProcesses, startRedisCluster } from './servers'

const cleanup = disposer()
let cluster: RedisClusterProcesses
// A client per master, by node id: the test moves slots with them; and who owns each slot, as the test moved it.
const nodes = new Map<string, RedisClientType>()
const portOf = new Map<string, number>()
const ownerOf = new Map<number, string>()

function clusterClient(): RedisClusterType {
  const c = createCluster({
    rootNodes: [...cluster.rootNodes],
    defaults: { disableOfflineQueue: true, socket: FAILOVER_SOCKET },
    topologyRefreshOnReconnectionAttemptStrategy: 200,
  }) as RedisClusterType
  c.on('error', () => {})
  return cleanup.track(c)
}

async function loadTopology(): Promise<void> {
  const first = [...nodes.values()][0]
  if (first === undefined) throw new Error('no nodes')
  const out = String(await first.sendCommand(['CLUSTER', 'NODES']))
  ownerOf.clear()
  for (const line of out.split('\n')) {
    const [id, , flags, , , , , , ...ranges] = line.split(' ')
    if (!flags?.includes('master') || id === undefined) continue
    for (const range of ranges) {
      if (range.startsWith('[')) continue
      const [from, to = from] = range.split('-').map(Number)
      for (let s = from as number; s <= (to as number); s++) ownerOf.set(s, id)
    }
  }
}

function node(id: string): RedisClientType {
  const n = nodes.get(id)
  if (n === undefined) throw new Error(`no node ${id}`)
  return n
}

/**
 * Moves `slot` to the master `to` as `redis-cli --cluster reshard` does, calling `between` once the slot is
 * MIGRATING/IMPORTING (0 keys moved) and after each MIGRATE batch (the keys moved so far), then hands the slot over.
 */
async function migrateSlot(
  slot: number,
  to: string,
  between: (moved: number) => Promise<void> = async () => {},
  batch = 1,
): Promise<void> {
  const from = ownerOf.get(slot) as string
  if (from === to) return
  const src = node(from)
  const dst = node(to)
  const dstPort = portOf.get(to)
  await dst.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from])
  await src.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to])
  let moved = 0
  // A failing step still completes the move, so the next test starts from a settled cluster.
  let failed: unknown
  const step = (n: number) =>
    between(n).catch((error: unknown) => {
      if (failed === undefined) failed = error
    })
  await step(0)
  for (;;) {
    const keys = (await src
      .withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
      .sendCommand(['CLUSTER', 'GETKEYSINSLOT', String(slot), String(batch)])) as Buffer[]
    if (keys.length === 0) break
    await src.sendCommand(['MIGRATE', '127.0.0.1', String(dstPort), '', '0', '5000', 'KEYS', ...keys])
    moved += keys.length
    await step(moved)
  }
  for (const n of nodes.values()) await n.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', to])
  ownerOf.set(slot, to)
  if (failed !== undefined) throw failed
}

beforeAll(async () => {
  cluster = await startRedisCluster(envPort('REDIS_RESHARD_CLUSTER_PORT', 7860))
  for (const n of cluster.nodes) {
    const c = createClient({ url: n.url }) as RedisClientType
    c.on('error', () => {})
    await c.connect()
    const role = String(((await c.sendCommand(['ROLE'])) as unknown[])[0])
    if (role !== 'master') {
      await c.close()
      continue
    }
    const id = String(await c.sendCommand(['CLUSTER', 'MYID']))
    nodes.set(id, cleanup.track(c))
    portOf.set(id, n.port)
  }
  await loadTopology()
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await cluster?.stop()
}, 60_000)

const PREFIX = 'reshard'
const phys = (ns: string, key: string): string => `${PREFIX}:${ns}:${key}`
const countInSlot = async (id: string, slot: number): Promise<number> =>
  Number(await node(id).sendCommand(['CLUSTER', 'COUNTKEYSINSLOT', String(slot)]))
const T1 = 'a'.repeat(16)
const T2 = 'b'.repeat(16)

function storageOver(client: RedisClusterType, operationTimeoutMs = 1000): RedisStorage {
  return cleanup.track(redisStorage({ client, prefix: PREFIX, operationTimeoutMs }))
}

// The slot of `key` in `ns`, the master holding it, and another master to move it to.
function placeOf(ns: string, key: string): { slot: number; from: string; to: string } {
  const slot = keySlot(phys(ns, key))
  const from = ownerOf.get(slot) as string
  return { slot, from, to: [...nodes.keys()].find((id) => id !== from) as string }
}

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
    const there = (await node(to)
      .withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
      .sendCommand(['CLUSTER', 'GETKEYSINSLOT', String(slot), '10'])) as Buffer[]
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
  let firstDone: () => void = () => {}
  const firstOver = new Promise<void>((resolve) => {
    firstDone = resolve
  })
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
            scan: async (cursor: string, options: { MATCH: string }) => {
              const entries = !Buffer.from(options.MATCH).includes(0xff)
              if (entries && master.port === hold && cursor === '0') {
                await firstOver
                await between()
              }
              const reply = await typed.scan(cursor, options)
              if (entries && master.port === first && String(reply.cursor) === '0') firstDone()
              return reply
            },
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
    scansInOrder(client, portOf.get(to) as number, portOf.get(from) as number, () => migrateSlot(slot, to))
    const storage = storageOver(client, 5000)
    await storage.set(ns, 'k', 'old')
    await storage.clear(ns)
    expect(await storage.get(ns, 'k')).toBeUndefined()
    expect(await countInSlot(to, slot)).toBe(0)
  }, 30_000)
})
