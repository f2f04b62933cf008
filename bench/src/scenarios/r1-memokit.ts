// memokit's rows in R1 (and S5's Redis part): the current sources, the before build, the freshness rows, and
// memokit over the user's own node-redis client.
import { createClient } from 'redis'
import { BEFORE_MIN_RATIO, loadMemokit, loadMemokitBefore, loadMemokitRedis } from '../memokit'
import { fetchValue, HOT, type Instance, type RedisContender, TTL_MS } from '../redis-common'
import { RAW, RAW_NO_TIMEOUT } from './r1-peers'
import { gated, STALE, STALE_NOTE, SWR_FRESH_NOTE, swrUnsupported } from './stale'

export async function memokitContender(prefix: string): Promise<RedisContender | string> {
  const [mk, mr] = await Promise.all([loadMemokit(), loadMemokitRedis()])
  const { cacheValue } = mk
  const { redisStorage } = mr
  if (!cacheValue) return `memokit skipped: ${mk.reason}`
  if (!redisStorage) return `memokit skipped: ${mr.reason}`
  return {
    name: 'memokit',
    note: 'cacheValue + redisStorage',
    target: 0.95,
    make: async (url, load = fetchValue) => {
      const storage = redisStorage({ url, prefix: `${prefix}-mk` }) as { close?: () => Promise<void> }
      const call = cacheValue(load, { storage, name: 'bench.r1', ttl: TTL_MS }) as Instance['call']
      return { call, close: async () => storage.close?.() }
    },
  }
}

/**
 * memokit next to its build from before issue 9's restructure (scripts/build-before.mjs), configured alike; the
 * current row carries the comparison. Each is left out, with a line saying why, when it doesn't load.
 */
export async function memokitPair(prefix: string): Promise<{ list: RedisContender[]; skipped: string[] }> {
  const list: RedisContender[] = []
  const skipped: string[] = []
  const [current, old] = await Promise.all([memokitContender(prefix), loadMemokitBefore()])
  const { cacheValue } = old.core
  const { redisStorage } = old.redis
  if (!cacheValue || !redisStorage) skipped.push(`${old.name} skipped: ${old.core.reason ?? old.redis.reason}`)
  if (typeof current === 'string') skipped.push(current)
  else
    list.push(
      cacheValue && redisStorage
        ? { ...current, versus: { name: old.name, label: 'current/before', min: BEFORE_MIN_RATIO } }
        : current,
    )
  if (typeof current !== 'string')
    list.push(...(await ownClientRows(prefix)), ...(await freshnessRows(prefix, skipped)))
  if (cacheValue && redisStorage) {
    list.push({
      name: old.name,
      note: 'cacheValue + redisStorage',
      make: async (url, load = fetchValue) => {
        // A prefix as long as the current row's, so both send keys of the same length.
        const storage = redisStorage({ url, prefix: `${prefix}-mb` }) as { close?: () => Promise<void> }
        const call = cacheValue(load, { storage, name: 'bench.r1', ttl: TTL_MS }) as Instance['call']
        return { call, close: async () => storage.close?.() }
      },
    })
  }
  return { list, skipped }
}

/** The hit rows of issue 9, section 4: memokit with `swr` on and a fresh entry, and a stale hit (see stale.ts). */
async function freshnessRows(prefix: string, skipped: string[]): Promise<RedisContender[]> {
  const [mk, mr] = await Promise.all([loadMemokit(), loadMemokitRedis()])
  const { cacheValue } = mk
  const { redisStorage } = mr
  const unsupported = swrUnsupported(mk)
  if (!cacheValue || !redisStorage || unsupported !== undefined) {
    skipped.push(`swr rows skipped: ${unsupported ?? mr.reason}`)
    return []
  }
  const row = (name: string, note: string, tag: string, options: object, hold: boolean): RedisContender => ({
    name,
    note,
    modes: ['hit64', 'hit1'],
    make: async (url, load = fetchValue) => {
      const storage = redisStorage({ url, prefix: `${prefix}-${tag}` }) as { close?: () => Promise<void> }
      // Only the hot keys: the round-trip count's misses must complete.
      const g = gated(load, (k) => k < HOT)
      // A held refresh keeps extending its lease for the rest of the process; once R1 has closed the storage those
      // extensions fail, and memokit's default warnings would fill the rest of the run's stderr.
      let closed = false
      const onError = (report: { error: unknown }): void => {
        if (!closed) console.error(report.error)
      }
      const call = cacheValue(g.load, { storage, name: 'bench.r1', onError, ...options }) as Instance['call']
      return {
        call,
        ...(hold ? { ready: g.hold } : {}),
        close: async () => {
          closed = true
          await storage.close?.()
        },
      }
    },
  })
  return [
    row('memokit, swr on, fresh hit', SWR_FRESH_NOTE, 'mf', { ttl: TTL_MS, swr: TTL_MS }, false),
    // swr 1 h, not TTL_MS: a held key whose entry expired mid-run would be a miss waiting for ever on its computation.
    row('memokit, stale hit', STALE_NOTE, 'ms', STALE, true),
  ]
}

/** Issue 14: within 5% of the raw read on the same kind of client, one at a time and 64 in flight. */
const OWN_CLIENT_MIN_RATIO = 0.95

/** The row src/pretenure.ts times against {@link RAW_NO_TIMEOUT}. */
export const OWN_NO_TIMEOUT = 'memokit, own client, no command timeout'

/**
 * Issue 14, section 1: `redisStorage({ client })` over a client made as node-redis' README shows (`createClient()`
 * with its defaults, `.connect()` before use), each row judged against the raw read on a client made the same way
 * (r1-peers.ts): with node-redis' default 5 s per-command timeout, and with `commandOptions: { timeout: 0 }`.
 */
export async function ownClientRows(prefix: string): Promise<RedisContender[]> {
  const { cacheValue } = await loadMemokit()
  const { redisStorage } = await loadMemokitRedis()
  if (!cacheValue || !redisStorage) return []
  const row = (name: string, tag: string, raw: string, options: object, client: string): RedisContender => ({
    name,
    note: `redisStorage({ client }), client: ${client}`,
    modes: ['hit64', 'hit1'],
    versus: { name: raw, label: 'vs raw on the same client', min: OWN_CLIENT_MIN_RATIO },
    make: async (url, load = fetchValue) => {
      const client = await createClient({ url, ...options })
        .on('error', () => {})
        .connect()
      const storage = redisStorage({ client, prefix: `${prefix}-${tag}` })
      const call = cacheValue(load, { storage, name: 'bench.r1', ttl: TTL_MS }) as Instance['call']
      return {
        call,
        close: async () => {
          client.destroy()
        },
      }
    },
  })
  return [
    row('memokit, own client', 'mo', RAW, {}, 'createClient() (node-redis defaults)'),
    row(
      OWN_NO_TIMEOUT,
      'mt',
      RAW_NO_TIMEOUT,
      { commandOptions: { timeout: 0 } },
      'createClient({ commandOptions: { timeout: 0 } })',
    ),
  ]
}
