/**
 * The `redis-tiered` mode's storage: in each soak process a `tieredStorage` whose L1 is its own memory, whose L2 is
 * a `redisStorage` on the soak's Redis, and whose bus is a `redisBus` on that same server, as docs/two-tiers.md sets
 * it up. Its L2 reads are counted, so the report can show how many hits the L1 answered. Its events (bus up and
 * down, L1 flushes and why) reach the worker on `memokit:event`, as every other event does.
 */
import { type AsyncStorage, memoryStorage, tieredStorage } from '@memokit/core'
import { redisBus, redisStorage } from '@memokit/redis'

/** What a process's tier is made with. */
export interface TierSettings {
  readonly maxL1AgeMs: number
  /** The broken tier of `--broken-tier`: a channel of this process's own, copies kept for 30 s. */
  readonly broken: boolean
  /** The process (`writer`, `worker-N`): the broken tier's channel is named after it. */
  readonly role: string
}

/** L2 reads of one process: keys asked for, and keys the L2 had. */
export interface L2Reads {
  asked: number
  found: number
}

/** An open tier and how to close what it opened. */
export interface OpenTier {
  readonly storage: AsyncStorage
  readonly l2Reads: L2Reads
  close(): Promise<void>
}

// As the other backends: a killed server must cost a call well under a second before core runs `fn` itself.
const OPERATION_TIMEOUT_MS = 500

/** `storage` with its `get` and `getMany` counted in `reads`; every other member as it is (leases included). */
function counted(storage: AsyncStorage, reads: L2Reads): AsyncStorage {
  const found = (entry: unknown) => {
    if (entry !== undefined) reads.found++
  }
  return new Proxy(storage, {
    get(target, property) {
      if (property === 'get') {
        return async (namespace: string, key: string) => {
          reads.asked++
          const entry = await target.get(namespace, key)
          found(entry)
          return entry
        }
      }
      if (property === 'getMany' && target.getMany !== undefined) {
        const getMany = target.getMany.bind(target)
        return async (namespace: string, keys: readonly string[]) => {
          reads.asked += keys.length
          const entries = await getMany(namespace, keys)
          for (const entry of entries) found(entry)
          return entries
        }
      }
      const member = Reflect.get(target, property, target) as unknown
      return typeof member === 'function' ? member.bind(target) : member
    },
  })
}

/** Opens this process's tier over the Redis at `url`, its entries under `prefix`. */
export function openTier(url: string, prefix: string, settings: TierSettings): OpenTier {
  const l2 = redisStorage({ url, prefix, operationTimeoutMs: OPERATION_TIMEOUT_MS })
  const l2Reads: L2Reads = { asked: 0, found: 0 }
  const bus = redisBus({ url, operationTimeoutMs: OPERATION_TIMEOUT_MS })
  const tier = tieredStorage({
    l1: memoryStorage({ maxEntries: 10_000 }),
    l2: counted(l2, l2Reads),
    bus,
    // The broken tier keeps copies far past the bound the checker allows, and hears no other replica: each process
    // has a channel of its own. Its own heartbeats still come back, so it never learns that it is deaf.
    maxL1Age: settings.broken ? 30_000 : settings.maxL1AgeMs,
    ...(settings.broken ? { channel: `memokit-soak:broken:${prefix}:${settings.role}` } : {}),
  })
  return {
    storage: tier,
    l2Reads,
    async close() {
      await tier.close().catch(() => {})
      await bus.close()
      await l2.close()
    },
  }
}
