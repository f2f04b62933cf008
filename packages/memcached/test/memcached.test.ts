// memcached-specific checks against a real memcached this file starts, with each adapter. The storage contract
// runs in contract-*.test.ts, one instance per file.
import { randomBytes } from 'node:crypto'
import { createConnection } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, ConfigError, cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { isSafeKey } from '../src/keys'
import { type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_TEST_PORT', 11311)
const DAY_MS = 86_400_000
const quiet = { log: () => undefined }

let server: MemcachedServer
let memjsClient: memjs.Client
let memcacheClient: MemcacheClient

beforeAll(async () => {
  server = await startMemcached(PORT)
  memjsClient = memjs.Client.create(server.address, { logger: quiet, timeout: 2, retries: 1 })
  memcacheClient = new MemcacheClient({ server: server.address, cmdTimeout: 1000 })
}, 15_000)

afterAll(async () => {
  memjsClient?.close()
  memcacheClient?.shutdown()
  await server?.stop()
}, 15_000)

interface Adapter {
  readonly name: string
  readonly client: () => MemcachedClient
}

const adapters: readonly Adapter[] = [
  { name: 'memjs', client: () => fromMemjs(memjsClient) },
  { name: 'memcache-client', client: () => fromMemcacheClient(memcacheClient) },
]

const rand = (): string => randomBytes(6).toString('hex')

interface Recorded {
  readonly client: MemcachedClient
  readonly sets: Array<{ key: string; value: string; exptime: number }>
  readonly keys: string[]
  readonly gets: string[]
}

// Passes every command through to the real client and notes the keys and exptimes memokit sent.
function recording(inner: MemcachedClient): Recorded {
  const sets: Recorded['sets'] = []
  const keys: string[] = []
  const gets: string[] = []
  const getMulti = inner.getMulti?.bind(inner)
  return {
    sets,
    keys,
    gets,
    client: {
      get: (key) => {
        keys.push(key)
        gets.push(key)
        return inner.get(key)
      },
      set: (key, value, exptime) => {
        keys.push(key)
        sets.push({ key, value, exptime })
        return inner.set(key, value, exptime)
      },
      delete: (key) => {
        keys.push(key)
        return inner.delete(key)
      },
      add: (key, value, exptime) => {
        keys.push(key)
        sets.push({ key, value, exptime })
        return inner.add(key, value, exptime)
      },
      append: (key, value) => {
        keys.push(key)
        return inner.append(key, value)
      },
      ...(getMulti === undefined
        ? {}
        : {
            getMulti: (many: readonly string[]) => {
              keys.push(...many)
              gets.push(`multi:${many.length}`)
              return getMulti(many)
            },
          }),
    },
  }
}

/** The remaining TTL memcached reports for a key (meta get `t` flag): -1 = no expiry, undefined = absent. */
function remainingTtl(key: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port: server.port })
    let reply = ''
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8')
      if (!reply.endsWith('\r\n')) return
      socket.end()
      if (reply.startsWith('EN')) return resolve(undefined)
      const match = /^HD t(-?\d+)/.exec(reply)
      if (match) resolve(Number(match[1]))
      else reject(new Error(`unexpected meta get reply ${JSON.stringify(reply)}`))
    })
    socket.on('error', reject)
    socket.write(`mg ${key} t\r\n`)
  })
}

const lastEntrySet = (rec: Recorded): { key: string; value: string; exptime: number } => {
  const entrySets = rec.sets.filter((s) => !s.key.endsWith(':~version'))
  const last = entrySets[entrySets.length - 1]
  if (last === undefined) throw new Error('no entry was written')
  return last
}

describe.each(adapters)('adapter $name answers as MemcachedClient documents', (adapter) => {
  it('get, set, add, append, delete (and getMulti) on present and absent keys', async () => {
    const c = adapter.client()
    const k = `adapter-${rand()}`
    const text = (v: unknown): string | undefined =>
      v === null || v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v)
    expect(text(await c.get(k))).toBeUndefined()
    expect(await c.append(k, 'x')).toBe(false)
    expect(await c.delete(k)).toBe(false)
    expect(await c.add(k, 'ü first', 0)).toBe(true)
    expect(await c.add(k, 'second', 0)).toBe(false)
    expect(await c.append(k, '\n+😀')).toBe(true)
    expect(text(await c.get(k))).toBe('ü first\n+😀')
    await c.set(k, 'replaced', 60)
    expect(text(await c.get(k))).toBe('replaced')
    if (c.getMulti !== undefined) {
      const values = await c.getMulti([`absent-${rand()}`, k, k])
      expect(values.map(text)).toEqual([undefined, 'replaced', 'replaced'])
    }
    expect(await c.delete(k)).toBe(true)
    expect(text(await c.get(k))).toBeUndefined()
    await expect(c.set(k, 'x'.repeat(1_100_000), 0)).rejects.toThrow(/too large/i)
    await expect(c.add(k, 'x'.repeat(1_100_000), 0)).rejects.toThrow(/too large/i)
  })
})

describe.each(adapters)('memcached specifics via $name', (adapter) => {
  const open = (options: { prefix?: string; versionCacheMs?: number; client?: MemcachedClient } = {}) =>
    memcachedStorage({
      client: options.client ?? adapter.client(),
      prefix: options.prefix ?? `mk-${rand()}`,
      ...options,
    })

  afterEach(() => {
    jest.restoreAllMocks()
  })

  it('sends TTLs as whole seconds rounded up, 0 without TTL, and an absolute time past 30 days', async () => {
    const rec = recording(adapter.client())
    const storage = open({ client: rec.client })
    const ns = `ns-${rand()}`
    const cases: Array<[number | undefined, number]> = [
      [1500, 2],
      [1000, 1],
      [1, 1],
      [59_001, 60],
      [undefined, 0],
    ]
    for (const [ttl, exptime] of cases) {
      const k = `k-${rand()}`
      await storage.set(ns, k, 'v', { ttl })
      const sent = lastEntrySet(rec)
      expect(sent.exptime).toBe(exptime)
      const remaining = await remainingTtl(sent.key)
      // The server counts down on its own second ticks: right after the write it reports exptime or one less.
      if (exptime === 0) expect(remaining).toBe(-1)
      else expect([exptime - 1, exptime]).toContain(remaining)
    }
  })

  it('keeps a value with a TTL over 30 days readable (sent as an absolute Unix time)', async () => {
    const rec = recording(adapter.client())
    const storage = open({ client: rec.client })
    const ns = `ns-${rand()}`
    const k = `k-${rand()}`
    const before = Date.now()
    await storage.set(ns, k, { long: 'lived' }, { ttl: 31 * DAY_MS })
    const after = Date.now()
    const sent = lastEntrySet(rec)
    expect(sent.exptime).toBeGreaterThanOrEqual(Math.ceil((before + 31 * DAY_MS) / 1000))
    expect(sent.exptime).toBeLessThanOrEqual(Math.ceil((after + 31 * DAY_MS) / 1000))
    const entry = await storage.get(ns, k)
    expect(entry?.value).toEqual({ long: 'lived' })
    expect(entry?.expiresAt).toBe((entry?.createdAt ?? Number.NaN) + 31 * DAY_MS)
    // Read as a relative 2,678,400 s it would be a 1970 timestamp: already expired. The server holds ~31 days,
    // give or take its own clock: it ticks once a second and converts absolute times against its start time (a CI
    // run saw 3 s off; 5 s still tells 31 days from expired).
    const remaining = (await remainingTtl(sent.key)) ?? 0
    expect(Math.abs(remaining - 2_678_400)).toBeLessThanOrEqual(5)
  })

  it('never returns an entry past its ms expiry, even while memcached still holds it', async () => {
    const rec = recording(adapter.client())
    const storage = open({ client: rec.client })
    const ns = `ns-${rand()}`
    const k = `k-${rand()}`
    const realNow = Date.now.bind(Date)
    let offset = 0
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset)
    await storage.set(ns, k, 'soon stale', { ttl: 5000 })
    const sent = lastEntrySet(rec)
    expect((await storage.get(ns, k))?.value).toBe('soon stale')
    offset = 5001
    expect(await storage.get(ns, k)).toBeUndefined()
    // memcached's own 5 s have not passed: the bytes are still there, only the expiresAt check hides them.
    expect(await adapter.client().get(sent.key)).toBeTruthy()
    expect(await storage.delete(ns, k)).toBe(false)
  })

  it('hashes long and unsafe keys and namespaces (never truncates) and keeps short safe ones readable', async () => {
    const rec = recording(adapter.client())
    const storage = open({ client: rec.client })
    const long = 'x'.repeat(1000)
    const pairs: Array<[string, string]> = [
      [`ns-${rand()}`, `${long}a`],
      [`ns-${rand()}`, `${long}b`],
      [`ns ${rand()}`, 'space key'],
      [`ns-${rand()}`, 'tab\tkey'],
      [`ns-${rand()}`, 'line\r\nget other'],
      [`ns-${rand()}`, '\u0000\u007f\u0085'],
      [`ns-${rand()}`, '\uD800'],
      [`ns-${rand()}`, '\uDBFF'],
      [`ü-${rand()}`, 'ü-日本-😀'],
      [`${'n'.repeat(300)}`, 'k'],
    ]
    for (const [i, [ns, k]] of pairs.entries()) await storage.set(ns, k, i)
    for (const [i, [ns, k]] of pairs.entries()) expect((await storage.get(ns, k))?.value).toBe(i)
    for (const key of rec.keys) {
      expect(isSafeKey(key)).toBe(true)
      expect(Buffer.byteLength(key)).toBeLessThanOrEqual(250)
    }
    // Short, safe non-ASCII keys are sent as they are (bytes counted in UTF-8), so they stay readable on the server.
    expect(rec.keys.some((key) => key.endsWith(':ü-日本-😀'))).toBe(true)
  })

  it('clear(namespace, keyPrefix) drops only the entries whose key starts with the prefix', async () => {
    const storage = open()
    const ns = `ns-${rand()}`
    const other = `ns-${rand()}`
    const keys = ['fnA:1', 'fnA:2', 'fnA:sub:3', 'fnAB:1', 'fnB:1', 'fn:1', 'fnA']
    for (const k of keys) {
      await storage.set(ns, k, k)
      await storage.set(other, k, k)
    }
    await storage.clear(ns, 'fnA:')
    const left = async (n: string) => {
      const found: string[] = []
      for (const k of keys) if ((await storage.get(n, k)) !== undefined) found.push(k)
      return found
    }
    expect(await left(ns)).toEqual(['fnAB:1', 'fnB:1', 'fn:1', 'fnA'])
    expect(await left(other)).toEqual(keys)
    // Written again after the clear: visible; a second clear of the same prefix drops it again.
    await storage.set(ns, 'fnA:1', 'again')
    expect((await storage.get(ns, 'fnA:1'))?.value).toBe('again')
    await storage.clear(ns, 'fnA:sub:')
    expect((await storage.get(ns, 'fnA:1'))?.value).toBe('again')
    await storage.clear(ns, 'fnA:')
    expect(await storage.get(ns, 'fnA:1')).toBeUndefined()
    await storage.clear(ns)
    expect(await left(ns)).toEqual([])
    expect(await left(other)).toEqual(keys)
  })

  it('keeps clearing by prefix correct when many prefixes are cleared (falls back to a whole-namespace clear)', async () => {
    const storage = open()
    const ns = `ns-${rand()}`
    await storage.set(ns, 'keep:1', 'kept')
    for (let i = 0; i < 80; i++) {
      await storage.set(ns, `function-number-${i}:x`, i)
      await storage.clear(ns, `function-number-${i}:`)
      expect(await storage.get(ns, `function-number-${i}:x`)).toBeUndefined()
    }
    // The version value stays bounded: once past 2 KB the namespace starts over, which also drops keep:1.
    expect(await storage.get(ns, 'keep:1')).toBeUndefined()
    await storage.set(ns, 'keep:2', 'kept')
    await storage.clear(ns, 'other:')
    expect((await storage.get(ns, 'keep:2'))?.value).toBe('kept')
  })

  it("sees another replica's clear on the next call (versionCacheMs 0), across both clients", async () => {
    const prefix = `mk-${rand()}`
    const ns = `ns-${rand()}`
    const mine = open({ prefix })
    const peer = memcachedStorage({
      client: adapter.name === 'memjs' ? fromMemcacheClient(memcacheClient) : fromMemjs(memjsClient),
      prefix,
    })
    await mine.set(ns, 'k', 'v1')
    expect((await peer.get(ns, 'k'))?.value).toBe('v1')
    await mine.clear(ns)
    expect(await peer.get(ns, 'k')).toBeUndefined()
    await peer.set(ns, 'fn:1', 'v2')
    expect((await mine.get(ns, 'fn:1'))?.value).toBe('v2')
    await peer.clear(ns, 'fn:')
    expect(await mine.get(ns, 'fn:1')).toBeUndefined()
  })

  it("with versionCacheMs, trusts its version that long: another replica's clear shows after it", async () => {
    const prefix = `mk-${rand()}`
    const ns = `ns-${rand()}`
    const realNow = Date.now.bind(Date)
    let offset = 0
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset)
    const rec = recording(adapter.client())
    const cached = memcachedStorage({ client: rec.client, prefix, versionCacheMs: 60_000 })
    const peer = open({ prefix })
    await peer.set(ns, 'k', 'v1')
    expect((await cached.get(ns, 'k'))?.value).toBe('v1')
    const getsBefore = rec.gets.length
    expect((await cached.get(ns, 'k'))?.value).toBe('v1')
    expect(rec.gets.length - getsBefore).toBe(1) // a trusted version: one key read per hit
    await peer.clear(ns)
    expect((await cached.get(ns, 'k'))?.value).toBe('v1') // the documented staleness
    // Writes never trust the remembered version: a delete reaches the entry written after the clear.
    await peer.set(ns, 'k', 'after the clear')
    expect(await cached.delete(ns, 'k')).toBe(true)
    expect(await peer.get(ns, 'k')).toBeUndefined()
    await cached.set(ns, 'k2', 'written under the new version')
    expect((await peer.get(ns, 'k2'))?.value).toBe('written under the new version')
    offset = 60_001
    expect(await cached.get(ns, 'k')).toBeUndefined()
    // Its own clear takes effect at once.
    await cached.set(ns, 'k', 'v2')
    await cached.clear(ns)
    expect(await cached.get(ns, 'k')).toBeUndefined()
  })

  it('lets its own clear win over a read that overlapped it, even with versionCacheMs', async () => {
    const prefix = `mk-${rand()}`
    const ns = `ns-${rand()}`
    await open({ prefix }).set(ns, 'k', 'old')
    // Holds the reply of the first version read (a delay a real server can't produce on demand) until after clear.
    let release = (): void => undefined
    let hold: Promise<void> | undefined = new Promise<void>((resolve) => {
      release = resolve
    })
    const inner = adapter.client()
    const client: MemcachedClient = {
      ...inner,
      get: async (key) => {
        const held = key.endsWith(':~version') ? hold : undefined
        hold = undefined
        const value = await inner.get(key)
        await held
        return value
      },
    }
    const storage = memcachedStorage({ client, prefix, versionCacheMs: 60_000 })
    const overlapping = storage.get(ns, 'k')
    await new Promise((resolve) => setTimeout(resolve, 50))
    await storage.clear(ns)
    release()
    // It began before the clear, so the old value is a fair answer; but the old version must not be remembered.
    expect((await overlapping)?.value).toBe('old')
    expect(await storage.get(ns, 'k')).toBeUndefined()
  })

  it('reads the version and the entry in one round trip once the version is known', async () => {
    const prefix = `mk-${rand()}`
    const rec = recording(adapter.client())
    const storage = open({ client: rec.client, prefix })
    const ns = `ns-${rand()}`
    await storage.set(ns, 'k', 'v')
    const commands = async (op: () => Promise<unknown>): Promise<string[]> => {
      const before = rec.gets.length
      await op()
      return rec.gets.slice(before).map((g) => (g.startsWith('multi:') ? g : 'get'))
    }
    // One multi-get of the version and the entry: memcache-client's `get <version> <entry>`, memjs's GETKQ + GETK.
    const oneTrip = ['multi:2']
    expect(await commands(async () => expect((await storage.get(ns, 'k'))?.value).toBe('v'))).toEqual(oneTrip)
    expect(await commands(async () => expect(await storage.get(ns, 'missing')).toBeUndefined())).toEqual(oneTrip)
    // After another replica's clear, the speculative read was under a dead version: one more read, then a miss.
    await open({ prefix }).clear(ns)
    expect(await commands(async () => expect(await storage.get(ns, 'k')).toBeUndefined())).toEqual([...oneTrip, 'get'])
    expect(await commands(async () => expect(await storage.get(ns, 'k')).toBeUndefined())).toEqual(oneTrip)
  })

  it('never resurrects entries when the namespace version is evicted', async () => {
    const prefix = `mk-${rand()}`
    const rec = recording(adapter.client())
    const storage = open({ client: rec.client, prefix })
    const ns = `ns-${rand()}`
    await storage.set(ns, 'old', 'stale')
    const versionKey = rec.sets.find((s) => s.key.endsWith(':~version'))?.key as string
    const oldEntryKey = lastEntrySet(rec).key
    // Eviction, as the server would do it under memory pressure.
    expect(await adapter.client().delete(versionKey)).toBe(true)
    expect(await storage.get(ns, 'old')).toBeUndefined()
    await storage.set(ns, 'new', 'fresh')
    expect((await storage.get(ns, 'new'))?.value).toBe('fresh')
    expect(await storage.get(ns, 'old')).toBeUndefined()
    // The old bytes are still on the server, unreachable under the new random version.
    expect(await adapter.client().get(oldEntryKey)).toBeTruthy()
    // A fresh storage (another process) doesn't find them either.
    expect(await open({ prefix }).get(ns, 'old')).toBeUndefined()
  })

  it('treats a foreign value in the version key as no version, and replaces it on write', async () => {
    const prefix = `mk-${rand()}`
    const rec = recording(adapter.client())
    const storage = open({ client: rec.client, prefix })
    const ns = `ns-${rand()}`
    await storage.set(ns, 'k', 'v')
    const versionKey = rec.sets.find((s) => s.key.endsWith(':~version'))?.key as string
    await adapter.client().set(versionKey, 'not a version: at all', 0)
    expect(await open({ prefix }).get(ns, 'k')).toBeUndefined()
    await storage.set(ns, 'k', 'v2')
    expect((await open({ prefix }).get(ns, 'k'))?.value).toBe('v2')
  })

  it('fails a value over the server item size (1 MB) with a StorageError, and keeps working', async () => {
    const storage = open()
    const ns = `ns-${rand()}`
    await storage.set(ns, 'big', 'small first')
    const big = 'x'.repeat(1_100_000)
    const error = await storage.set(ns, 'big', big).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ storage: 'memcached', op: 'set', code: 'E_STORAGE' })
    expect((error as Error).message).toMatch(/item size limit.*-I/)
    expect((error as Error).cause).toBeInstanceOf(Error)
    // memcached drops the old value when a set fails, so nothing stale stays behind.
    expect(await storage.get(ns, 'big')).toBeUndefined()
    await expect(storage.add?.(ns, 'big2', big)).rejects.toMatchObject({ op: 'add', storage: 'memcached' })
    await storage.set(ns, 'after', 'fine')
    expect((await storage.get(ns, 'after'))?.value).toBe('fine')
  })

  it('through cacheValue: a result over 1 MB is still returned, and onError is told', async () => {
    const reports: ErrorReport[] = []
    const big = 'x'.repeat(1_100_000)
    let calls = 0
    const load = async (id: string): Promise<string> => {
      calls++
      return `${id}:${big}`
    }
    const cached = cacheValue(load, { storage: open(), name: `big-${rand()}`, onError: (r) => reports.push(r) })
    expect(await cached('a')).toBe(`a:${big}`)
    const end = Date.now() + 2000
    while (reports.length === 0 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10))
    // Both adapters give the storage leases, so core stores its result through the fenced write.
    expect(reports[0]).toMatchObject({ op: 'setIfLeased', storage: 'memcached' })
    expect(reports[0]?.error).toBeInstanceOf(StorageError)
    expect(reports[0]?.error.message).toMatch(/larger than its item size limit/)
    // Nothing was cached: the next call runs the function again and still answers.
    expect(await cached('a')).toBe(`a:${big}`)
    expect(calls).toBe(2)
  })

  it('rejects a bad ttl with a ConfigError before writing anything', async () => {
    const rec = recording(adapter.client())
    const storage = open({ client: rec.client })
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(storage.set('ns', 'k', 1, { ttl })).rejects.toBeInstanceOf(ConfigError)
      await expect(storage.add?.('ns', 'k', 1, { ttl })).rejects.toBeInstanceOf(ConfigError)
    }
    expect(rec.keys).toEqual([])
  })
})

describe('memcachedStorage options', () => {
  const client = (): MemcachedClient => fromMemjs(memjsClient)
  const configError = (fn: () => unknown, option: string): void => {
    let error: unknown
    try {
      fn()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).option).toBe(option)
  }

  it('names what is wrong', () => {
    configError(() => memcachedStorage(undefined as never), 'options')
    configError(() => memcachedStorage({} as never), 'client')
    configError(() => memcachedStorage({ client: { get: () => Promise.resolve(null) } as never }), 'client')
    configError(() => memcachedStorage({ client: { ...client(), add: 1 } as never }), 'client')
    configError(() => memcachedStorage({ client: client(), prefix: 'has space' }), 'prefix')
    configError(() => memcachedStorage({ client: client(), prefix: 'ü' }), 'prefix')
    configError(() => memcachedStorage({ client: client(), prefix: 'p'.repeat(65) }), 'prefix')
    configError(() => memcachedStorage({ client: client(), prefix: 1 as never }), 'prefix')
    configError(() => memcachedStorage({ client: client(), codec: {} as never }), 'codec')
    configError(() => memcachedStorage({ client: client(), operationTimeoutMs: 0 }), 'operationTimeoutMs')
    configError(() => memcachedStorage({ client: client(), versionCacheMs: -1 }), 'versionCacheMs')
    configError(() => memcachedStorage({ client: client(), versionCacheMs: Number.NaN }), 'versionCacheMs')
  })

  it('needs all five commands from the client', () => {
    for (const command of ['get', 'set', 'add', 'append', 'delete']) {
      configError(() => memcachedStorage({ client: { ...client(), [command]: undefined } as never }), 'client')
    }
    const storage: AsyncStorage = memcachedStorage({ client: client() })
    expect(storage.name).toBe('memcached')
    expect(storage.async).toBe(true)
    expect(typeof storage.add).toBe('function')
  })
})
