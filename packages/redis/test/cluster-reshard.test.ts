// redisStorage on a real 6-node Redis Cluster while slots move between masters (resharding, done here step by step
// as `redis-cli --cluster reshard` does it: reshard.ts), with operations sent while a slot is half moved: they meet
// ASK redirections and TRYAGAIN. One cluster for both clients: every scenario runs through a node-redis Cluster and
// through an ioredis Cluster, each client with its own key prefix (so its own slots). Unlike node-redis, ioredis
// retries a TRYAGAIN itself (every retryDelayOnTryAgain, 100 ms, on a random master, up to maxRedirections, 16):
// about 1 to 1.7 s, longer than memokit's default operationTimeoutMs (1000 ms). Small and deterministic: a few slots
// holding known keys, each step awaited.
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from '@jest/globals'
import type { RedisStorage } from '@memokit/redis'
import { leaseKey } from '../src/lease-keys'
import { outcome, reshardSetUp } from './reshard-clients'

const { cluster, cases } = reshardSetUp('REDIS_RESHARD_CLUSTER_PORT', 7860)

const T1 = 'a'.repeat(16)
const T2 = 'b'.repeat(16)

describe.each(cases)('a slot being migrated ($name)', (side) => {
  const phys = (ns: string, key: string): string => `${side.prefix}:${ns}:${key}`
  // The slot of `key` in `ns`, the master holding it, and another master to move it to.
  const placeOf = (ns: string, key: string) => cluster().placeOf(phys(ns, key))
  // The slot's keys (an entry and its lease) on each master: [on `from`, on `to`].
  const split = async (slot: number, from: string, to: string): Promise<number[]> => [
    await cluster().countInSlot(from, slot),
    await cluster().countInSlot(to, slot),
  ]
  // Stores 'old' under `ns`'s key 'k' and takes its lease (T1), then moves their slot, running `during` once half
  // of it has moved: the entry on one node, its lease on the other. Returns what was seen, the split first.
  const moveWhileSplit = async (
    storage: RedisStorage,
    ns: string,
    during: (seen: string[]) => Promise<void>,
  ): Promise<string[]> => {
    const { slot, from, to } = placeOf(ns, 'k')
    await storage.set(ns, 'k', 'old')
    expect(await storage.acquireLease(ns, 'k', T1, 60_000)).toBe(true)
    const seen: string[] = []
    await cluster().migrateSlot(slot, to, async (moved) => {
      if (moved !== 1) return
      seen.push(`split ${JSON.stringify(await split(slot, from, to))}`)
      await during(seen)
    })
    return seen
  }

  it('delete removes the entry and its lease at the move start, entry and lease together', async () => {
    const storage = side.storage()
    const ns = 'delete'
    const { slot, from, to } = placeOf(ns, 'k')
    await storage.set(ns, 'k', 'old')
    const seen: string[] = []
    await cluster().migrateSlot(slot, to, async (moved) => {
      if (moved !== 0) return
      // MIGRATING, nothing moved: the entry is on the source, its lease exists nowhere.
      seen.push(`delete ${await outcome(storage.delete(ns, 'k'))}`)
      seen.push(`get ${await outcome(storage.get(ns, 'k'))}`)
      // Both keys again, as new keys of the migrating slot: created on the importing node (ASK).
      await storage.set(ns, 'k', 'old2')
      seen.push(`acquire ${await storage.acquireLease(ns, 'k', T1, 60_000)}`)
      seen.push(`delete ${await outcome(storage.delete(ns, 'k'))}`)
      seen.push(`get ${await outcome(storage.get(ns, 'k'))}`)
      // The lease went with the entry: another token takes it.
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
    const storage = side.storage()
    const ns = 'split'
    const seen = await moveWhileSplit(storage, ns, async (seen) => {
      seen.push(`delete ${await outcome(storage.delete(ns, 'k'))}`)
      // The holder's fenced write after the delete: false, or refused (TRYAGAIN until the move ends, which waits
      // for this step): never stored.
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
    const storage = side.storage()
    const ns = 'fenced'
    let fenced: Promise<string> = Promise.resolve('not sent')
    const seen = await moveWhileSplit(storage, ns, async (seen) => {
      // Refused with TRYAGAIN (entry and lease on two nodes), and sent again (by memokit through node-redis, by ioredis
      // itself) until the move ends or time is up.
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

  it('a lease moves with its entry: released and deleted on the node it moved to', async () => {
    const storage = side.storage()
    const ns = 'moves'
    const { slot, to } = placeOf(ns, 'k')
    await storage.set(ns, 'k', 'v')
    expect(await storage.acquireLease(ns, 'k', T1, 60_000)).toBe(true)
    await cluster().migrateSlot(slot, to)
    const there = await cluster().keysInSlot(to, slot, 10)
    expect(there.map((k) => k.toString('hex')).sort()).toEqual(
      [Buffer.from(phys(ns, 'k')), leaseKey(phys(ns, 'k'), '')].map((k) => k.toString('hex')).sort(),
    )
    expect(await storage.extendLease(ns, 'k', T1, 60_000)).toBe(true)
    expect(await storage.setIfLeased(ns, 'k', 'new', T1)).toBe(true)
    expect((await storage.get(ns, 'k'))?.value).toBe('new')
    expect(await storage.delete(ns, 'k')).toBe(true)
  }, 30_000)

  it('a fenced write refused while its keys move is sent again: it stores once they are on one node', async () => {
    const storage = side.storage()
    const ns = 'retried'
    const { slot, from, to } = placeOf(ns, 'k')
    // A miss being computed: the lease exists, the entry not yet.
    expect(await storage.acquireLease(ns, 'k', T1, 60_000)).toBe(true)
    const seen: string[] = []
    let fenced: Promise<string> = Promise.resolve('not sent')
    await cluster().migrateSlot(slot, to, async (moved) => {
      // Both steps refuse the script with TRYAGAIN: the lease is on one node, the entry on none.
      seen.push(`${moved}: ${JSON.stringify(await split(slot, from, to))}`)
      if (moved === 0) fenced = outcome(storage.setIfLeased(ns, 'k', 'computed', T1))
      // Time for it to be refused (node-redis answers at once, ioredis tries again every 100 ms).
      await sleep(100)
    })
    expect(seen).toEqual(['0: [1,0]', '1: [0,1]'])
    expect(await fenced).toBe('true')
    expect((await storage.get(ns, 'k'))?.value).toBe('computed')
    // The fenced write took the lease with it: only the entry is left, on the node the slot moved to.
    expect(await split(slot, from, to)).toEqual([0, 1])
  }, 30_000)

  it('a fenced write refused for longer than operationTimeoutMs fails once, after it, and lands nothing later', async () => {
    const storage = side.storage(300)
    const ns = 'refused'
    const { slot, from, to } = placeOf(ns, 'k')
    expect(await storage.acquireLease(ns, 'k', T1, 60_000)).toBe(true)
    let failed = ''
    let elapsed = 0
    await cluster().migrateSlot(slot, to, async (moved) => {
      if (moved !== 0) return
      // The move waits for this step: every attempt meets TRYAGAIN.
      const started = performance.now()
      await storage.setIfLeased(ns, 'k', 'late', T1).catch((error: Error) => {
        failed = `${error.name}: ${error.message}`
      })
      elapsed = performance.now() - started
    })
    // One StorageError for the whole operation (one count towards the circuit breaker), at its deadline.
    expect(failed).toMatch(side.retriesTryAgain ? /^StorageError: .*timed out/ : /^StorageError: .*TRYAGAIN/)
    expect(elapsed).toBeGreaterThan(200)
    expect(elapsed).toBeLessThan(800)
    expect(await split(slot, from, to)).toEqual([0, 1])
    if (side.retriesTryAgain) {
      // ioredis goes on sending it after memokit's deadline (every 100 ms, until it gives up: up to 1.7 s in all), so
      // it usually lands once the move is over, through the lease T1 still held: as a fenced write, which took the
      // lease with it (never over a delete). Or ioredis gave up first, and the lease is still held.
      const landed = performance.now() + 2000
      while ((await storage.get(ns, 'k')) === undefined && performance.now() < landed) await sleep(50)
      const value = (await storage.get(ns, 'k'))?.value
      expect([undefined, 'late']).toContain(value)
      expect(await storage.releaseLease(ns, 'k', T1)).toBe(value === undefined)
    } else {
      // No attempt after the deadline: the lease still holds T1, so a late one would have stored 'late'.
      await sleep(100)
      expect(await storage.get(ns, 'k')).toBeUndefined()
      expect(await storage.releaseLease(ns, 'k', T1)).toBe(true)
    }
  }, 30_000)

  it('acquire, extend and release (one key each) answer while the entry and its lease are on two nodes', async () => {
    const storage = side.storage()
    const ns = 'members'
    const seen = await moveWhileSplit(storage, ns, async (seen) => {
      seen.push(`extend ${await outcome(storage.extendLease(ns, 'k', T1, 60_000))}`)
      seen.push(`release ${await outcome(storage.releaseLease(ns, 'k', T1))}`)
      seen.push(`acquire ${await outcome(storage.acquireLease(ns, 'k', T2, 60_000))}`)
      seen.push(`taken ${await outcome(storage.acquireLease(ns, 'k', T1, 60_000))}`)
      seen.push(`extend ${await outcome(storage.extendLease(ns, 'k', T2, 60_000))}`)
    })
    expect(seen).toEqual(['split [1,1]', 'extend true', 'release true', 'acquire true', 'taken false', 'extend true'])
    expect((await storage.get(ns, 'k'))?.value).toBe('old')
    expect(await storage.releaseLease(ns, 'k', T2)).toBe(true)
  }, 30_000)

  it('clear finds an entry that moved from a master not scanned yet to one already scanned', async () => {
    const ns = 'clear'
    const { slot, from, to } = placeOf(ns, 'k')
    // The source's walk for entries starts once the destination's is over and the slot has moved there.
    const storage = side.storage(5000, {
      first: cluster().portOf(to),
      hold: cluster().portOf(from),
      between: () => cluster().migrateSlot(slot, to),
    })
    await storage.set(ns, 'k', 'old')
    await storage.clear(ns)
    expect(await storage.get(ns, 'k')).toBeUndefined()
    expect(await cluster().countInSlot(to, slot)).toBe(0)
  }, 30_000)
})
