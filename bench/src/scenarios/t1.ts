// T1: two tiers (an in-process L1 in front of Redis, a bus between replicas) against bentocache's tiered cache and
// cache-manager with two stores. Table 1: a hit in the L1. Table 2: an L1 miss answered by the L2.
import { randomBytes } from 'node:crypto'
import { createKeyv, Keyv } from '@keyv/redis'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { createCache as createCacheManager } from 'cache-manager'
import { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { type BenchConfig, type Contender, compileLoop, measure, rowsTable, type Versus } from '../harness'
import { loadMemokit, loadMemokitRedis } from '../memokit'
import { cleanup, fetchValue, HOT, hitLoop, reachable, redisUrl, TTL_MS, type Value, valueFor } from '../redis-common'
import { assertSame, type Scenario } from './types'

const LOOP = hitLoop(1)

interface Tiered {
  readonly name: string
  readonly note: string
  readonly versus?: Versus
  readonly call: (k: number) => Promise<Value>
  readonly close: () => Promise<void>
}

// Table 2's L1 holds one entry: cycling over 256 keys, every call misses the L1, reads the L2 and writes the L1 back
// (evicting the previous key), the same for every contender, with no hook into any library's internals.
const l1Size = (missing: boolean, full: number): number => (missing ? 1 : full)

async function memokitTier(url: string, prefix: string, missing: boolean): Promise<Tiered | string> {
  const [mk, mr] = await Promise.all([loadMemokit(), loadMemokitRedis()])
  const core = (await import('@memokit/core')) as unknown as Record<string, unknown>
  const redis = (await import('@memokit/redis')) as unknown as Record<string, unknown>
  const { cacheValue } = mk
  const { redisStorage } = mr
  const tieredStorage = core.tieredStorage as ((o: Record<string, unknown>) => TierLike) | undefined
  const redisBus = redis.redisBus as ((o: Record<string, unknown>) => { close(): Promise<void> }) | undefined
  if (!cacheValue || !redisStorage || !tieredStorage || !redisBus) return 'memokit skipped: no tieredStorage/redisBus'
  const l2 = redisStorage({ url, prefix: `${prefix}-mk` }) as { close?: () => Promise<void> }
  const bus = redisBus({ url })
  const tier = tieredStorage({ l1: mk.memoryStorage({ maxEntries: l1Size(missing, 10_000) }), l2, bus })
  await tier.ready
  const call = cacheValue(fetchValue, { storage: tier, name: 'bench.t1', ttl: TTL_MS }) as Tiered['call']
  return {
    name: 'memokit',
    note: `tieredStorage(memoryStorage${missing ? ' max 1' : ''}, redisStorage, redisBus)`,
    // Issue 11's own line was 0.7 of `await map.get`; see TIER_TARGET for why it is judged against a memory hit.
    ...(missing ? {} : { versus: TIER_TARGET }),
    call,
    close: async () => {
      await tier.close()
      await bus.close()
      await l2.close?.()
    },
  }
}

const MEMORY_ROW = 'memokit, memoryStorage only'

/**
 * The L1 hit's target (issue 11, decided 2026-12-05): at least 0.95 of a memoryStorage hit with the same ttl. The
 * issue's 0.7 of `await map.get` can't be met together with its own bound (an L1 copy is never served past
 * `min(staleAt, written + maxL1Age)`): any exact bound reads the clock once per hit, and `Date.now()` costs about
 * half of `await map.get` on this host (the "+ Date.now()" row is that ceiling). Correct results come first, so the
 * bound stays exact and the tier is held to the same work without the tier: a memory hit that also reads the clock.
 */
const TIER_TARGET: Versus = { name: MEMORY_ROW, label: 'vs memoryStorage with the same ttl', min: 0.95 }

/** For scale: memokit over a memoryStorage alone (no L2, no bus), as in S3, with the tier's ttl and without one. */
async function memoryReferences(): Promise<Tiered[]> {
  const mk = await loadMemokit()
  const make = (ttl: number | undefined, name: string) =>
    mk.cacheValue?.(fetchValue, { storage: mk.memoryStorage(), name, ...(ttl === undefined ? {} : { ttl }) })
  const timed = make(TTL_MS, 'bench.t1.memory')
  const untimed = make(undefined, 'bench.t1.memory-no-ttl')
  if (timed === undefined || untimed === undefined) return []
  return [
    {
      name: MEMORY_ROW,
      note: `reference: one tier, nothing behind it, the same ttl (${TTL_MS / 1000} s): a hit reads the clock`,
      call: timed as Tiered['call'],
      close: async () => {},
    },
    {
      name: 'memokit, memoryStorage, no ttl',
      note: 'reference: S3 configuration; nothing expires, so a hit reads no clock',
      call: untimed as Tiered['call'],
      close: async () => {},
    },
  ]
}

interface TierLike {
  readonly ready: Promise<void>
  close(): Promise<void>
}

/** `serialize`: bentocache's default L1 keeps JSON (a hit parses it); off, it keeps the object, as memokit's L1 does. */
function bentoTier(url: string, prefix: string, missing: boolean, serialize = true): Tiered {
  const { hostname, port } = new URL(url)
  const bento = new BentoCache({
    default: 'tiered',
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxItems: l1Size(missing, 10_000), serialize }))
        .useL2Layer(redisDriver({ connection: new Redis(url), prefix: `${prefix}-bento${serialize ? '' : 'o'}` }))
        .useBus(redisBusDriver({ connection: { host: hostname, port: Number(port || 6379) } })),
    },
  })
  return {
    name: serialize ? 'bentocache' : 'bentocache, L1 serialize: false',
    note: `getOrSet; memory L1${missing ? ' maxItems 1' : ''} + redis L2 + redis bus (ioredis)`,
    // Keys of their own: the two bentocache rows share its default bus channel, and one's writes would drop the
    // other's L1 copies.
    call: (k) =>
      bento.getOrSet({ key: `${serialize ? 'user' : 'user-o'}:${k}`, factory: () => fetchValue(k), ttl: TTL_MS }),
    close: () => bento.disconnectAll(),
  }
}

function cacheManagerTier(url: string, prefix: string, missing: boolean): Tiered {
  // Keyv over any Map-like store: a Map, or for table 2 an LRU of one entry.
  const memory = new Keyv({ store: missing ? new LRUCache<string, object>({ max: 1 }) : new Map() })
  const cache = createCacheManager({ stores: [memory, createKeyv(url, { namespace: `${prefix}-cm` })], ttl: TTL_MS })
  return {
    name: 'cache-manager',
    note: `wrap; stores [Keyv ${missing ? 'LRU max 1' : 'Map'}, @keyv/redis]; no bus`,
    call: (k) => cache.wrap(`user:${k}`, () => fetchValue(k), TTL_MS),
    close: async () => {
      await cache.disconnect()
    },
  }
}

/** One table: every contender set up, filled and checked, timed against `await map.get`, then closed. */
async function table(cfg: BenchConfig, url: string, prefix: string, missing: boolean, log: (s: string) => void) {
  const lines: string[] = []
  const map = new Map<number, Value>()
  for (let k = 0; k < HOT; k++) map.set(k, valueFor(k))
  const want = Array.from({ length: HOT }, (_, k) => valueFor(k))
  const live: Tiered[] = []
  try {
    const mk = await memokitTier(url, prefix, missing)
    if (typeof mk === 'string') lines.push(mk)
    else live.push(mk)
    live.push(bentoTier(url, prefix, missing), cacheManagerTier(url, prefix, missing))
    if (!missing) {
      live.push(bentoTier(url, prefix, missing, false))
      live.push(...(await memoryReferences()))
    }
    for (const t of live) {
      for (let k = 0; k < HOT; k++) await t.call(k)
      const got: Value[] = []
      for (let k = 0; k < HOT; k++) got.push(await t.call(k))
      assertSame(t.name, got, want)
    }
    const baseline: Contender = {
      name: 'await map.get',
      loop: compileLoop({ map, st: { next: 0 } }, LOOP.replace('call(k)', 'map.get(k)'), 'async'),
    }
    const contenders = live.map(
      (t): Contender => ({
        name: t.name,
        note: t.note,
        ...(t.versus === undefined ? {} : { versus: t.versus }),
        loop: compileLoop({ call: t.call, st: { next: 0 } }, LOOP, 'async'),
      }),
    )
    if (!missing) {
      // The ceiling of any L1 with an exact time bound: the baseline plus one clock read and compare per hit.
      const clocked = LOOP.replace('call(k)', '(Date.now() < st.until ? map.get(k) : undefined)')
      contenders.push({
        name: 'await map.get + Date.now()',
        note: 'reference: the baseline with the one clock read an exact expiry check needs',
        loop: compileLoop({ map, st: { next: 0, until: Number.MAX_SAFE_INTEGER } }, clocked, 'async'),
      })
    }
    lines.push(rowsTable(await measure(cfg, baseline, contenders, log)))
  } finally {
    for (const t of live) await t.close().catch(() => {})
  }
  return lines
}

/** T1: a tiered hit, and an L1 miss answered by Redis. */
export const t1: Scenario = {
  id: 'T1',
  title: 'two tiers: memory L1 + Redis L2 + bus, ~1 KB JSON value, 256 keys, sequential (baseline: await map.get)',
  async run(cfg, log) {
    const url = redisUrl()
    const down = await reachable(url)
    if (down !== undefined) {
      return { id: 'T1', title: this.title, rows: [], lines: [`T1 skipped: Redis at ${url} unreachable (${down})`] }
    }
    const prefix = `mkbench-t1-${process.pid}-${randomBytes(4).toString('hex')}`
    const lines = [`server ${url}, key prefix ${prefix} (removed at the end), TTL ${TTL_MS / 1000} s`]
    // redisBus' connections don't keep the process alive (by design): while it connects, nothing else would.
    const keepAlive = setInterval(() => {}, 1000)
    try {
      log('  T1 L1 hit')
      lines.push('\n### T1 L1 hit', ...(await table(cfg, url, prefix, false, log)))
      log('  T1 L1 miss, L2 hit')
      lines.push(
        "\n### T1 L1 miss, L2 hit (every contender's L1 holds one entry; 256 keys in turn: L1 miss, Redis GET, L1 write)",
        ...(await table(cfg, url, `${prefix}-miss`, true, log)),
      )
    } finally {
      clearInterval(keepAlive)
      const removed = await cleanup(url, prefix).catch(() => -1)
      lines.push(`cleanup: ${removed} keys under ${prefix}* removed`)
    }
    return { id: 'T1', title: this.title, rows: [], lines }
  },
}
