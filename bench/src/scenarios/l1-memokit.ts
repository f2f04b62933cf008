// L1's memokit rows: single tier over redisStorage, the same with `swr`, and two tiers when core has tieredStorage.
import { loadMemokit, loadMemokitRedis } from '../memokit'
import { type Instance, message } from '../redis-common'
import { L1_KEYS, L1_TTL_MS, type L1Row } from './l1-peers'

type Factory = (options: Record<string, unknown>) => unknown
type Closable = { close?: () => Promise<void> | void }

/**
 * The memokit rows that can run, and a line for each that can't. The swr row serves nothing older than the other
 * rows do: `ttl` + `swr` equals their TTL, so it wins on latency only by refreshing early, not by serving older data.
 */
export async function l1Memokit(prefix: string): Promise<{ rows: L1Row[]; skipped: string[] }> {
  const [mk, mr] = await Promise.all([loadMemokit(), loadMemokitRedis()])
  const { cacheValue } = mk
  const { redisStorage } = mr
  if (!cacheValue) return { rows: [], skipped: [`memokit rows skipped: ${mk.reason}`] }
  if (!redisStorage) return { rows: [], skipped: [`memokit rows skipped: ${mr.reason}`] }
  const rows: L1Row[] = []
  const skipped: string[] = []
  const row = (name: string, note: string, tag: string, options: object): L1Row => ({
    name,
    note,
    memokit: true,
    make: async (url, load) => {
      const storage = redisStorage({ url, prefix: `${prefix}-${tag}` }) as Closable
      const call = cacheValue(load, { storage, name: 'bench.l1', ...options }) as Instance['call']
      return { call, close: async () => storage.close?.() }
    },
  })
  rows.push(row('memokit', `cacheValue + redisStorage, ttl ${L1_TTL_MS} ms`, 'mk', { ttl: L1_TTL_MS }))
  const half = L1_TTL_MS / 2
  try {
    cacheValue(() => 1, { storage: mk.memoryStorage(), name: 'bench.l1-probe', ttl: half, swr: half })
    rows.push(
      row('memokit, swr', `ttl ${half} ms + swr ${half} ms (no value older than the others' TTL)`, 'ms', {
        ttl: half,
        swr: half,
      }),
    )
  } catch (error) {
    skipped.push(`memokit, swr skipped: cacheValue rejects swr (${message(error)})`)
  }
  const tiered = await tieredRow(prefix, redisStorage)
  if (typeof tiered === 'string') skipped.push(tiered)
  else rows.push(tiered)
  return { rows, skipped }
}

/** memokit over tieredStorage (memory L1 in front of redisStorage), with redisBus when @memokit/redis has it. */
async function tieredRow(prefix: string, redisStorage: Factory): Promise<L1Row | string> {
  const core = (await import('@memokit/core')) as Record<string, unknown>
  const redis = (await import('@memokit/redis')) as Record<string, unknown>
  const tieredStorage = core.tieredStorage as Factory | undefined
  const memoryStorage = core.memoryStorage as Factory
  const cacheValue = core.cacheValue as (fn: unknown, options: Record<string, unknown>) => Instance['call']
  if (typeof tieredStorage !== 'function')
    return 'memokit, two tiers skipped: @memokit/core does not export tieredStorage yet'
  const redisBus = typeof redis.redisBus === 'function' ? (redis.redisBus as Factory) : undefined
  return {
    name: redisBus ? 'memokit, two tiers + bus' : 'memokit, two tiers',
    note: `tieredStorage: memoryStorage L1 (maxEntries ${L1_KEYS}) + redisStorage L2${redisBus ? ' + redisBus' : ', no bus (@memokit/redis has no redisBus yet)'}, ttl ${L1_TTL_MS} ms`,
    memokit: true,
    make: async (url, load) => {
      const l2 = redisStorage({ url, prefix: `${prefix}-mt` }) as Closable
      const bus = redisBus?.({ url }) as Closable | undefined
      const events = new Map<string, number>()
      const storage = tieredStorage({
        l1: memoryStorage({ maxEntries: L1_KEYS }),
        l2,
        ...(bus ? { bus } : {}),
        // Counted for the note instead of warned about: a bus that fails under load changes what the row measures.
        onEvent: (e: { type: string; state?: string; reason?: string }) => {
          if (e.type === 'received') return
          const what = e.type === 'state' ? `L1 ${e.state}` : e.type === 'flush' ? `flush (${e.reason})` : e.type
          events.set(what, (events.get(what) ?? 0) + 1)
        },
      }) as Closable
      const call = cacheValue(load, { storage, name: 'bench.l1', ttl: L1_TTL_MS })
      return {
        call,
        status: () => {
          const text = [...events].map(([what, n]) => `${what} x${n}`).join(', ')
          events.clear()
          return text && `bus events: ${text}`
        },
        close: async () => {
          // Each closed on its own: tieredStorage closes its bus link only; a failure must not keep the rest open.
          for (const c of [storage, bus, l2]) await Promise.resolve(c?.close?.()).catch(() => {})
        },
      }
    },
  }
}
