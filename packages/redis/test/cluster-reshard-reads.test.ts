// getMany on a real 6-node Redis Cluster while the slot of its keys moves between masters (reshard.ts, set up as
// in cluster-reshard.test.ts). While a slot is MIGRATING, the source answers a command for keys it holds, redirects
// (ASK) one whose keys are all gone, and refuses one naming keys of both kinds with TRYAGAIN: an MGET of two keys of
// the slot, one moved and the other not. getMany's per-slot MGET (which tagged reads use for their tag tokens) is
// then sent again within operationTimeoutMs, as a fenced write is, through node-redis; ioredis sends it again
// itself (every 100 ms, on a random master, up to 16 redirections).
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from '@jest/globals'
import type { RedisStorage } from '@memokit/redis'
import { keySlot } from '../src/slots'
import { timedAgainstTimer } from './counted'
import { outcome, reshardSetUp } from './reshard-clients'

const { cluster, cases } = reshardSetUp('REDIS_RESHARD_READS_CLUSTER_PORT', 7870)

// A RedisStorage always has getMany.
const getMany = (storage: RedisStorage, ns: string, keys: string[]) =>
  (storage.getMany as NonNullable<RedisStorage['getMany']>)(ns, keys)
const valuesOf = (storage: RedisStorage, ns: string, keys: string[]): Promise<string> =>
  outcome(getMany(storage, ns, keys).then((entries) => entries.map((entry) => entry?.value)))

describe.each(cases)('getMany while a slot is being migrated ($name)', (side) => {
  // Two keys of one slot (a hash tag), their slot, the master holding it, and another master to move it to.
  const pair = (ns: string) => {
    const tag = `{${side.prefix}-${ns}}`
    const keys = [`${tag}a`, `${tag}b`]
    return { keys, ...cluster().placeOf(`${side.prefix}:${ns}:${keys[0]}`) }
  }
  const split = async (slot: number, from: string, to: string): Promise<number[]> => [
    await cluster().countInSlot(from, slot),
    await cluster().countInSlot(to, slot),
  ]

  it('answers for two keys of one slot while one has moved and the other not', async () => {
    const storage = side.storage()
    const ns = 'split'
    const { keys, slot, from, to } = pair(ns)
    const [a, b] = keys as [string, string]
    // A key of another slot, so that the slot's MGET is one of two.
    expect(keySlot(`${side.prefix}:${ns}:c`)).not.toBe(slot)
    await storage.set(ns, a, 'A')
    await storage.set(ns, b, 'B')
    await storage.set(ns, 'c', 'C')
    const seen: string[] = []
    let one: Promise<string> = Promise.resolve('not sent')
    let two: Promise<string> = Promise.resolve('not sent')
    await cluster().migrateSlot(slot, to, async (moved) => {
      seen.push(`${moved}: ${JSON.stringify(await split(slot, from, to))}`)
      if (moved === 1) {
        one = valuesOf(storage, ns, [a, b])
        two = valuesOf(storage, ns, [b, 'c', a])
      }
      // Time for the MGET to be refused (node-redis answers at once, ioredis tries again every 100 ms).
      await sleep(100)
    })
    expect(seen).toEqual(['0: [2,0]', '1: [1,1]', '2: [0,2]'])
    expect(await one).toBe('["A","B"]')
    expect(await two).toBe('["B","C","A"]')
    expect(await valuesOf(storage, ns, [a, b])).toBe('["A","B"]')
  }, 30_000)

  it('a getMany refused for longer than operationTimeoutMs fails once, at it; a get of each key answers', async () => {
    const storage = side.storage(300)
    const ns = 'refused'
    const { keys, slot, to } = pair(ns)
    const [a, b] = keys as [string, string]
    await storage.set(ns, a, 'A')
    await storage.set(ns, b, 'B')
    let failed = ''
    let elapsed = 0
    let stallMs = 0
    const singles: string[] = []
    await cluster().migrateSlot(slot, to, async (moved) => {
      if (moved !== 1) return
      // The move waits for this step: every attempt meets TRYAGAIN.
      const read = await timedAgainstTimer(() => getMany(storage, ns, [a, b]), 300)
      failed =
        read.error === undefined
          ? JSON.stringify(read.result)
          : `${(read.error as Error).name}: ${(read.error as Error).message}`
      elapsed = read.ms
      stallMs = read.stallMs
      // A single key is followed wherever it is (ASK): a get answers meanwhile.
      singles.push(await outcome(storage.get(ns, a).then((e) => e?.value)))
      singles.push(await outcome(storage.get(ns, b).then((e) => e?.value)))
    })
    // One StorageError for the whole read (one count towards the circuit breaker), at its deadline: the last
    // TRYAGAIN (memokit sends no attempt it could not see answered), or ioredis' attempts cut off.
    expect(failed).toMatch(side.retriesTryAgain ? /^StorageError: .*timed out/ : /^StorageError: .*TRYAGAIN/)
    expect(elapsed).toBeGreaterThan(200)
    // Less what a starved process's timers lost meanwhile (counted.ts).
    expect(elapsed - stallMs).toBeLessThan(800)
    expect(singles).toEqual(['"A"', '"B"'])
    expect(await valuesOf(storage, ns, [a, b])).toBe('["A","B"]')
  }, 30_000)
})
