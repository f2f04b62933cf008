import { randomBytes } from 'node:crypto'
import { type Cache, type CacheEntry, cachified, totalTtl } from '@epic-web/cachified'
import { createKeyv } from '@keyv/redis'
import { createCache as createAcd } from 'async-cache-dedupe'
import { BentoCache, bentostore } from 'bentocache'
import { redisDriver } from 'bentocache/drivers/redis'
import { createCache as createCacheManager } from 'cache-manager'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import {
  type BenchConfig,
  type Contender,
  compileLoop,
  measure,
  type Row,
  rowsTable,
  table,
  type Versus,
} from '../harness'
import { BEFORE_MIN_RATIO, loadMemokit, loadMemokitBefore, loadMemokitRedis } from '../memokit'
import { startRespCounter } from '../resp-counter'
import { assertSame, type Scenario } from './types'

const HOT = 256
const IN_FLIGHT = 64
const TTL_MS = 120_000
const MISS_BASE = 1_000_000

export interface Value {
  readonly id: number
  readonly [field: string]: unknown
}

// About 1 KB of JSON, the same shape for every contender.
const TEMPLATE = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'editor', 'viewer'],
  settings: { theme: 'dark', locale: 'en-GB', notifications: { email: true, sms: false, push: true } },
  tags: Array.from({ length: 12 }, (_, i) => `tag-${i}`),
  bio: 'x'.repeat(620),
  createdAt: '2024-01-01T00:00:00.000Z',
}
export const valueFor = (id: number): Value => ({ id, ...TEMPLATE })
const fetchValue = async (id: number): Promise<Value> => valueFor(id)

interface Instance {
  readonly call: (k: number) => Promise<Value>
  readonly close: () => Promise<void>
}

interface RedisContender {
  readonly name: string
  readonly note: string
  /** Target ratio for the 64-in-flight hit mode. */
  readonly target?: number
  /** Compared with another row in every mode (memokit against its before build). */
  readonly versus?: Versus
  /** Sets up one instance over its own connection; `load` is the function being cached (default: `fetchValue`). */
  readonly make: (url: string, load?: (k: number) => Promise<Value>) => Promise<Instance>
}

const LOOPS = {
  // 64 distinct consecutive keys per batch, so in-flight de-duplication can't skip round trips.
  hit64: `let s = 0
for (let i = 0; i < n; i += ${IN_FLIGHT}) {
  const m = Math.min(${IN_FLIGHT}, n - i)
  const ps = new Array(m)
  const base = st.next
  st.next = (base + m) & ${HOT - 1}
  for (let j = 0; j < m; j++) ps[j] = call((base + j) & ${HOT - 1})
  const rs = await Promise.all(ps)
  for (let j = 0; j < m; j++) s += rs[j].id
}
return s`,
  hit1: `let s = 0
for (let i = 0; i < n; i++) {
  const k = st.next
  st.next = (k + 1) & ${HOT - 1}
  s += (await call(k)).id
}
return s`,
  // A key never used before on every call: a miss, the function, and a write.
  miss: `let s = 0
for (let i = 0; i < n; i++) s += (await call(st.miss++)).id
return s`,
} as const
type Mode = keyof typeof LOOPS

/** The raw baseline: node-redis GET + JSON.parse, SET PX on a miss; `tag` keeps each variant's keys apart. */
function rawNodeRedis(
  prefix: string,
  name: string,
  note: string,
  tag: string,
  options: { commandOptions?: { timeout: number } },
): RedisContender {
  return {
    name,
    note,
    make: async (url, load = fetchValue) => {
      const client = await createClient({ url, ...options }).connect()
      return {
        call: async (k) => {
          const key = `${prefix}:${tag}:${k}`
          const hit = await client.get(key)
          if (hit !== null) return JSON.parse(hit) as Value
          const v = await load(k)
          await client.set(key, JSON.stringify(v), { PX: TTL_MS })
          return v
        },
        close: async () => {
          client.destroy()
        },
      }
    },
  }
}

export function contenders(prefix: string): RedisContender[] {
  return [
    rawNodeRedis(prefix, 'node-redis GET + JSON.parse', 'raw; SET PX on miss', 'raw', {}),
    rawNodeRedis(
      prefix,
      'node-redis, no command timeout',
      'reference: commandOptions { timeout: 0 } (node-redis 6 arms an AbortSignal.timeout per command)',
      'rawnt',
      { commandOptions: { timeout: 0 } },
    ),
    {
      name: 'ioredis GET + JSON.parse',
      note: 'reference: the client async-cache-dedupe and bentocache use',
      make: async (url, load = fetchValue) => {
        const client = new Redis(url)
        return {
          call: async (k) => {
            const key = `${prefix}:ioraw:${k}`
            const hit = await client.get(key)
            if (hit !== null) return JSON.parse(hit) as Value
            const v = await load(k)
            await client.set(key, JSON.stringify(v), 'PX', TTL_MS)
            return v
          },
          close: async () => {
            client.disconnect()
          },
        }
      },
    },
    {
      name: 'async-cache-dedupe',
      note: 'redis storage over ioredis',
      make: async (url, load = fetchValue) => {
        const client = new Redis(url)
        const cache = createAcd({ ttl: TTL_MS / 1000, storage: { type: 'redis', options: { client } } })
        const name = `${prefix}:acd`
        const defined = cache.define(name, load) as unknown as Record<string, (k: number) => Promise<Value>>
        const fn = defined[name] as (k: number) => Promise<Value>
        return {
          call: (k) => fn.call(defined, k),
          close: async () => {
            client.disconnect()
          },
        }
      },
    },
    {
      name: 'cache-manager',
      note: 'Keyv + @keyv/redis (node-redis)',
      make: async (url, load = fetchValue) => {
        const keyv = createKeyv(url, { namespace: `${prefix}-cm` })
        const cache = createCacheManager({ stores: [keyv], ttl: TTL_MS })
        return {
          call: (k) => cache.wrap(`user:${k}`, () => load(k), TTL_MS),
          close: async () => {
            await cache.disconnect()
          },
        }
      },
    },
    {
      name: 'cachified',
      note: 'minimal node-redis adapter (GET/SET PXAT, JSON)',
      make: async (url, load = fetchValue) => {
        const client = await createClient({ url }).connect()
        // What cachified's redis adapters do: the whole entry as JSON, expiring with the entry's total TTL.
        const cache: Cache<Value> = {
          name: 'node-redis',
          get: async (key) => {
            const raw = await client.get(key)
            return raw === null ? null : (JSON.parse(raw) as CacheEntry<Value>)
          },
          set: async (key, entry) => {
            const ttl = totalTtl(entry.metadata)
            const json = JSON.stringify(entry)
            if (Number.isFinite(ttl)) await client.set(key, json, { PXAT: entry.metadata.createdTime + ttl })
            else await client.set(key, json)
          },
          delete: async (key) => {
            await client.del(key)
          },
        }
        return {
          call: (k) => cachified({ key: `${prefix}:cf:${k}`, cache, getFreshValue: () => load(k), ttl: TTL_MS }),
          close: async () => {
            client.destroy()
          },
        }
      },
    },
    {
      name: 'bentocache',
      note: 'redis L2 only (ioredis), no L1',
      make: async (url, load = fetchValue) => {
        const bento = new BentoCache({
          default: 'redis',
          stores: {
            redis: bentostore().useL2Layer(redisDriver({ connection: new Redis(url), prefix: `${prefix}-bento` })),
          },
        })
        return {
          call: (k) => bento.getOrSet({ key: `user:${k}`, factory: () => load(k), ttl: TTL_MS }),
          close: () => bento.disconnectAll(),
        }
      },
    },
  ]
}

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
async function memokitPair(prefix: string): Promise<{ list: RedisContender[]; skipped: string[] }> {
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

export async function reachable(url: string): Promise<string | undefined> {
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    if (client.isOpen) client.destroy()
  }
}

/** Deletes this run's keys (and only them): SCAN MATCH on the run's unique prefix. */
export async function cleanup(url: string, prefix: string): Promise<number> {
  const client = await createClient({ url }).connect()
  let removed = 0
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) removed += await client.unlink(keys)
    }
  } finally {
    client.destroy()
  }
  return removed
}

function modeConfig(cfg: BenchConfig, mode: Mode): BenchConfig {
  // Misses write a new ~1 KB key per call into a shared server: fewer, shorter rounds keep that bounded.
  // Hits get longer slices: network round trips are noisier than in-memory loops.
  if (mode !== 'miss') return cfg.quick ? cfg : { ...cfg, sliceMs: Math.max(cfg.sliceMs, 250) }
  return { ...cfg, rounds: Math.max(2, Math.ceil(cfg.rounds / 2)), sliceMs: Math.min(cfg.sliceMs, 100) }
}

/** R1: Redis hits and misses against raw node-redis. */
export const r1: Scenario = {
  id: 'R1',
  title: `Redis, ~1 KB JSON value (baseline: node-redis GET + JSON.parse on the same server)`,
  async run(cfg, log) {
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
    const lines: string[] = []
    const down = await reachable(url)
    if (down !== undefined) {
      return { id: 'R1', title: this.title, rows: [], lines: [`R1 skipped: Redis at ${url} unreachable (${down})`] }
    }
    const prefix = `mkbench-${process.pid}-${randomBytes(4).toString('hex')}`
    lines.push(`server ${url}, key prefix ${prefix} (removed at the end), TTL ${TTL_MS / 1000} s`)
    const all = contenders(prefix)
    const pair = await memokitPair(prefix)
    lines.push(...pair.skipped)
    all.push(...pair.list)

    const live: { c: RedisContender; inst: Instance }[] = []
    try {
      for (const c of all) {
        try {
          const inst = await c.make(url)
          live.push({ c, inst })
        } catch (error) {
          lines.push(`${c.name} skipped: could not set up (${error instanceof Error ? error.message : String(error)})`)
        }
      }
      // Fill the hot keys (each contender's own), then check every contender reads back the right values.
      for (const { c, inst } of live) {
        const want = Array.from({ length: HOT }, (_, k) => valueFor(k))
        await Promise.all(want.map((_, k) => inst.call(k)))
        assertSame(c.name, await Promise.all(want.map((_, k) => inst.call(k))), want)
      }
      const [base, ...rest] = live
      if (!base) throw new Error('R1: the baseline could not be set up')
      const sections: [Mode, string][] = [
        ['hit64', `hits, ${IN_FLIGHT} calls in flight`],
        ['hit1', 'hits, 1 call in flight (sequential)'],
        ['miss', 'miss + write, 1 call in flight (a new key each call)'],
      ]
      for (const [mode, label] of sections) {
        log(`  R1 ${label}`)
        const toContender = ({ c, inst }: { c: RedisContender; inst: Instance }): Contender => ({
          name: c.name,
          note: c.note,
          ...(mode === 'hit64' && c.target !== undefined ? { target: c.target } : {}),
          ...(c.versus !== undefined ? { versus: c.versus } : {}),
          unit: mode === 'hit64' ? IN_FLIGHT : 1,
          loop: compileLoop({ call: inst.call, st: { next: 0, miss: MISS_BASE } }, LOOPS[mode], 'async'),
        })
        const rows: Row[] = await measure(modeConfig(cfg, mode), toContender(base), rest.map(toContender), log)
        lines.push(`\n### R1 ${label}`, rowsTable(rows))
      }
      lines.push('', await roundTrips(url, all, log))
    } finally {
      for (const { inst } of live) await inst.close().catch(() => {})
      const removed = await cleanup(url, prefix).catch(() => -1)
      lines.push(`cleanup: ${removed} keys under ${prefix}* removed`)
    }
    return { id: 'R1', title: this.title, rows: [], lines }
  },
}

/** Untimed: commands each contender sends per hit and per miss, counted on the wire through a proxy. */
async function roundTrips(url: string, all: readonly RedisContender[], log: (s: string) => void): Promise<string> {
  log('  R1 round trips')
  const counter = await startRespCounter(new URL(url))
  const rows: string[][] = []
  const describe = (m: Map<string, number>, per: number): string =>
    [...m].map(([name, n]) => `${name} ${Number.isInteger(n / per) ? n / per : (n / per).toFixed(2)}`).join(', ') ||
    'none'
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)
  try {
    for (const c of all) {
      let inst: Instance | undefined
      try {
        inst = await c.make(counter.url)
        // Warm the connection (handshake commands), and make sure keys 0..31 exist for this contender.
        for (let k = 0; k < 32; k++) await inst.call(k)
        counter.reset()
        const HITS = 32
        for (let k = 0; k < HITS; k++) await inst.call(k)
        const hits = counter.counts()
        counter.reset()
        const MISSES = 8
        for (let k = 0; k < MISSES; k++) await inst.call(MISS_BASE * 10 + k)
        const misses = counter.counts()
        const perHit = total(hits) / HITS
        const verdict =
          c.target !== undefined
            ? perHit === 1
              ? '; one round trip per hit: MET'
              : '; one round trip per hit: MISSED'
            : ''
        rows.push([
          c.name,
          String(perHit),
          describe(hits, HITS) + verdict,
          String(total(misses) / MISSES),
          describe(misses, MISSES),
        ])
      } catch (error) {
        rows.push([c.name, 'n/a', `failed: ${error instanceof Error ? error.message : String(error)}`, '', ''])
      } finally {
        await inst?.close().catch(() => {})
      }
    }
  } finally {
    await counter.close()
  }
  return `### R1 commands sent per call (counted on the wire, sequential)\n${table(
    ['contender', 'cmds/hit', 'hit commands', 'cmds/miss', 'miss commands'],
    rows,
  )}`
}
