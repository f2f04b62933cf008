// Redis-specific behaviour of redisStorage on real servers: physical layout, round trips, connection handling,
// clearing, validation. The shared server gets unique prefixes; tests that count commands or connections run on
// a server of their own.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CodecError, ConfigError, createCodec, StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClient, RESP_TYPES } from 'redis'
import { disposer, envPort, fill, type RedisProcess, redisCli, sharedRedis, startRedisServer } from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))

const uid = (label: string): string => `${label}-${randomBytes(5).toString('hex')}`
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let shared: Awaited<ReturnType<typeof sharedRedis>>
let sharedUrl: string
let raw: ReturnType<typeof createClient>
let own: RedisProcess
// Validation tests never connect: any well-formed URL will do.
const SOME_URL = 'redis://127.0.0.1:6379'

beforeAll(async () => {
  shared = await sharedRedis(envPort('REDIS_SPARE_PORT', 7200) + 7)
  sharedUrl = shared.url
  raw = cleanup.track(createClient({ url: sharedUrl }))
  raw.on('error', () => {})
  await raw.connect()
  own = await startRedisServer(envPort('REDIS_SPARE_PORT', 7200) + 2)
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await own?.stop()
  await shared?.stop()
}, 60_000)

async function commandCounts(port: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const line of (await redisCli(port, 'info', 'commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim())
    if (match?.[1] && match[2]) counts.set(match[1], Number(match[2]))
  }
  return counts
}

// Commands the server ran between two snapshots, without the INFO calls of the snapshots themselves.
function commandsBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const delta: Record<string, number> = {}
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0)
    if (d > 0 && name !== 'info') delta[name] = d
  }
  return delta
}

// Connections to our own server other than redis-cli's.
async function connectionCount(port: number): Promise<number> {
  const list = await redisCli(port, 'client', 'list')
  return list.split('\n').filter((line) => line.includes('addr=') && !line.includes('cmd=client|list')).length
}

describe('physical keys and values', () => {
  it('stores <prefix>:<namespace>:<key> with % and : escaped, and one payload holding the whole entry', async () => {
    const prefix = uid('p:%')
    const storage = open({ url: sharedUrl, prefix })
    const key = uid('k:x')
    await storage.set('ns:a%b', key, { n: 1 }, { ttl: 5000 })
    const physical = `${prefix.replace('%', '%25').replace(':', '%3A')}:ns%3Aa%25b:${key}`
    const payload = await raw.get(physical)
    expect(typeof payload).toBe('string')
    const entry = createCodec().decodeEntry(payload as string)
    expect(entry.value).toEqual({ n: 1 })
    expect(entry.expiresAt).toBe(entry.createdAt + 5000)
    await storage.close()
  })

  it('sets PX to the ttl rounded up to whole ms, and no expiry without ttl', async () => {
    const prefix = uid('px')
    const storage = open({ url: sharedUrl, prefix })
    await storage.set('ns', 'frac', 1, { ttl: 1500.2 })
    await storage.set('ns', 'tiny', 1, { ttl: 0.3 })
    await storage.set('ns', 'forever', 1)
    const frac = await raw.pTTL(`${prefix}:ns:frac`)
    expect(frac).toBeGreaterThan(1400)
    expect(frac).toBeLessThanOrEqual(1501)
    expect(await raw.pTTL(`${prefix}:ns:forever`)).toBe(-1)
    await storage.clear('ns')
    await storage.close()
  })

  it('reads an entry past its expiresAt as a miss even while Redis still holds it', async () => {
    const prefix = uid('exp')
    const storage = open({ url: sharedUrl, prefix })
    const past = Date.now() - 10
    await raw.set(
      `${prefix}:ns:k`,
      createCodec().encodeEntry({ value: 'stale', createdAt: past - 100, expiresAt: past }),
      { expiration: { type: 'PX', value: 10_000 } },
    )
    expect(await storage.get('ns', 'k')).toBeUndefined()
    await storage.clear('ns')
    await storage.close()
  })

  it('deletes an entry the server already expired as absent (false)', async () => {
    const storage = open({ url: sharedUrl, prefix: uid('delexp') })
    await storage.set('ns', 'short', 1, { ttl: 20 })
    await storage.set('ns', 'long', 1, { ttl: 10_000 })
    await sleep(60)
    expect(await storage.delete('ns', 'short')).toBe(false)
    expect(await storage.delete('ns', 'long')).toBe(true)
    expect(await storage.delete('ns', 'long')).toBe(false)
    await storage.close()
  })

  it('rejects a corrupt payload with a CodecError (not a StorageError)', async () => {
    const prefix = uid('corrupt')
    const storage = open({ url: sharedUrl, prefix })
    await raw.set(`${prefix}:ns:k`, 'garbage', { expiration: { type: 'PX', value: 10_000 } })
    await expect(storage.get('ns', 'k')).rejects.toBeInstanceOf(CodecError)
    await storage.clear('ns')
    await storage.close()
  })

  it('refuses namespaces and keys with lone surrogates instead of letting them collide in UTF-8', async () => {
    const prefix = uid('sur')
    const storage = open({ url: sharedUrl, prefix })
    await storage.set('ns', '\uD83D\uDE00', 'pair is fine')
    expect((await storage.get('ns', '\uD83D\uDE00'))?.value).toBe('pair is fine')
    await expect(storage.set('ns', 'a\uD800', 1)).rejects.toMatchObject({ name: 'StorageError', op: 'set' })
    await expect(storage.get('n\uDC00', 'k')).rejects.toMatchObject({ name: 'StorageError', op: 'get' })
    // '\uD800' and '\uDBFF' both encode to U+FFFD in UTF-8: neither may be written.
    expect(await raw.exists(`${prefix}:ns:a\uFFFD`)).toBe(0)
    await storage.clear('ns')
    await storage.close()
  })
})

describe('clients with a Buffer type mapping', () => {
  it('reads, scans and clears when the client returns Buffers instead of strings', async () => {
    const base = cleanup.track(createClient({ url: sharedUrl }))
    base.on('error', () => {})
    await base.connect()
    const buffers = base.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
    const prefix = uid('buf')
    const storage = open({ client: buffers, prefix })
    await storage.set('ns', 'k', { text: 'héllo' })
    expect(Buffer.isBuffer(await buffers.get(`${prefix}:ns:k`))).toBe(true)
    expect((await storage.get('ns', 'k'))?.value).toEqual({ text: 'héllo' })
    await storage.clear('ns')
    expect(await storage.get('ns', 'k')).toBeUndefined()
    await storage.close()
    await base.close()
  })
})

describe('round trips', () => {
  it('costs exactly one command per hit, miss, write, add and delete', async () => {
    const storage = open({ url: own.url, prefix: uid('rt') })
    await storage.set('ns', 'warm', 1) // connects
    const measure = async (action: () => Promise<unknown>): Promise<Record<string, number>> => {
      const before = await commandCounts(own.port)
      await action()
      return commandsBetween(before, await commandCounts(own.port))
    }
    expect(await measure(() => storage.get('ns', 'warm'))).toEqual({ get: 1 })
    expect(await measure(() => storage.get('ns', 'absent'))).toEqual({ get: 1 })
    expect(await measure(() => storage.set('ns', 'k', { a: [1, 2] }, { ttl: 10_000 }))).toEqual({ set: 1 })
    expect(await measure(() => storage.add('ns', 'k2', 2, { ttl: 10_000 }))).toEqual({ set: 1 })
    // delete is one script unlinking the entry and its lease (the server counts the script's UNLINKs too). The
    // server learns the script on the first call (EVALSHA answers NOSCRIPT, then EVAL), made here beforehand.
    await storage.delete('ns', 'absent')
    expect(await measure(() => storage.delete('ns', 'k'))).toEqual({ evalsha: 1, unlink: 2 })
    await storage.close()
  })
})

describe('connections', () => {
  it('does not connect when created, and shares one connection among concurrent first calls', async () => {
    const storage = open({ url: own.url, prefix: uid('conn') })
    const before = await connectionCount(own.port)
    await sleep(50)
    expect(await connectionCount(own.port)).toBe(before)
    const helloBefore = (await commandCounts(own.port)).get('hello') ?? 0
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => storage.get('ns', `k${i}`)))
    expect(results.every((r) => r === undefined)).toBe(true)
    expect(await connectionCount(own.port)).toBe(before + 1)
    expect((await commandCounts(own.port)).get('hello') ?? 0).toBe(helloBefore + 1)
    await storage.close()
    expect(await connectionCount(own.port)).toBe(before)
  })

  it('close() releases only what it opened: a user client stays open and usable', async () => {
    const client = cleanup.track(createClient({ url: own.url }))
    client.on('error', () => {})
    await client.connect()
    const storage = open({ client, prefix: uid('user') })
    await storage.set('ns', 'k', 1)
    await storage.close()
    expect(client.isOpen).toBe(true)
    expect(await client.ping()).toBe('PONG')
    await expect(storage.get('ns', 'k')).rejects.toMatchObject({ name: 'StorageError', op: 'get' })
    await client.close()
  })

  it('connects a user client that is not open yet, once, and still leaves it open on close()', async () => {
    const client = cleanup.track(createClient({ url: own.url }))
    client.on('error', () => {})
    const storage = open({ client, prefix: uid('lazy') })
    await Promise.all([storage.set('ns', 'a', 1), storage.set('ns', 'b', 2)])
    expect((await storage.get('ns', 'b'))?.value).toBe(2)
    await storage.close()
    expect(client.isOpen).toBe(true)
    await client.close()
  })

  it('lets storages sharing one unopened user client connect it once, concurrently', async () => {
    const client = cleanup.track(createClient({ url: own.url }))
    client.on('error', () => {})
    const a = open({ client, prefix: uid('shareA') })
    const b = open({ client, prefix: uid('shareB') })
    await Promise.all([a.set('ns', 'k', 'a'), b.set('ns', 'k', 'b')])
    expect((await a.get('ns', 'k'))?.value).toBe('a')
    expect((await b.get('ns', 'k'))?.value).toBe('b')
    await Promise.all([a.clear('ns'), b.clear('ns'), a.close(), b.close()])
    expect(client.isOpen).toBe(true)
  })

  it('rejects calls after close(), and close() is idempotent (also when never connected)', async () => {
    const used = open({ url: own.url, prefix: uid('closed') })
    await used.set('ns', 'k', 1)
    await used.close()
    await used.close()
    await expect(used.set('ns', 'k', 2)).rejects.toMatchObject({ name: 'StorageError', op: 'set' })
    const unused = open({ url: own.url })
    await unused.close()
    await expect(unused.get('ns', 'k')).rejects.toBeInstanceOf(StorageError)
  })
})

describe('clear', () => {
  it('walks a namespace bigger than one SCAN batch and leaves its neighbours', async () => {
    const prefix = uid('big')
    const storage = open({ url: sharedUrl, prefix })
    const other = open({ url: sharedUrl, prefix: `${prefix}x` })
    await fill(storage, 'ns', 2500)
    await fill(storage, 'ns2', 50)
    await fill(other, 'ns', 50)
    await storage.clear('ns')
    const left = async (pattern: string): Promise<number> => {
      let count = 0
      for await (const keys of raw.scanIterator({ MATCH: pattern, COUNT: 1000 })) count += keys.length
      return count
    }
    expect(await left(`${prefix}:ns:*`)).toBe(0)
    expect(await left(`${prefix}:ns2:*`)).toBe(50)
    expect(await left(`${prefix}x:ns:*`)).toBe(50)
    await storage.clear('ns2')
    await other.clear('ns')
    await Promise.all([storage.close(), other.close()])
  })

  it('clears only the keys starting with keyPrefix when given one, glob characters included', async () => {
    const prefix = uid('fnclear')
    const storage = open({ url: sharedUrl, prefix })
    const keys = ['f*:1', 'f*:2', 'fx:1', 'f[:1', 'g:1', 'f\\:1']
    await Promise.all(keys.map((k) => storage.set('ns', k, k)))
    await storage.clear('ns', 'f*:')
    const present = async (k: string): Promise<boolean> => (await storage.get('ns', k)) !== undefined
    expect(await Promise.all(keys.map(present))).toEqual([false, false, true, true, true, true])
    await storage.clear('ns')
    await storage.close()
  })

  it("works through a client keyPrefix (which node-redis adds to keys but not to SCAN's pattern)", async () => {
    const keyPrefix = `${uid('kp')}:`
    const client = cleanup.track(createClient({ url: sharedUrl, keyPrefix }))
    client.on('error', () => {})
    const storage = open({ client, prefix: 'memokit' })
    await storage.set('ns', 'a', 1)
    await storage.set('other', 'a', 2)
    expect(await raw.exists(`${keyPrefix}memokit:ns:a`)).toBe(1)
    await storage.clear('ns')
    expect(await raw.exists(`${keyPrefix}memokit:ns:a`)).toBe(0)
    expect((await storage.get('other', 'a'))?.value).toBe(2)
    await storage.clear('other')
    await storage.close()
    await client.close()
  })
})

describe('options', () => {
  const bad: [string, Partial<RedisStorageOptions> | undefined, string][] = [
    ['neither url nor client', {}, 'url'],
    ['both url and client', { url: SOME_URL, client: createClient() } as never, 'url'],
    ['a url without redis://', { url: '127.0.0.1:6379' }, 'url'],
    ['a url that is not a string', { url: 6379 as unknown as string }, 'url'],
    ['a client that is not node-redis', { client: {} as never }, 'client'],
    ['timeout 0', { url: SOME_URL, operationTimeoutMs: 0 }, 'operationTimeoutMs'],
    ['timeout -5', { url: SOME_URL, operationTimeoutMs: -5 }, 'operationTimeoutMs'],
    ['timeout NaN', { url: SOME_URL, operationTimeoutMs: Number.NaN }, 'operationTimeoutMs'],
    ['timeout Infinity', { url: SOME_URL, operationTimeoutMs: Infinity }, 'operationTimeoutMs'],
    ['timeout as string', { url: SOME_URL, operationTimeoutMs: '1000' as unknown as number }, 'operationTimeoutMs'],
    ['a prefix that is not a string', { url: SOME_URL, prefix: 1 as unknown as string }, 'prefix'],
    ['a codec without encodeEntry', { url: SOME_URL, codec: {} as never }, 'codec'],
  ]
  it.each(bad)('throws a ConfigError for %s', (_label, options, option) => {
    let thrown: unknown
    try {
      redisStorage(options as RedisStorageOptions)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    expect((thrown as ConfigError).option).toBe(option)
  })

  it('throws a ConfigError for a missing options object', () => {
    expect(() => redisStorage(undefined as unknown as RedisStorageOptions)).toThrow(ConfigError)
  })

  it('rejects a ttl that Redis could not take with a ConfigError, writing nothing', async () => {
    const prefix = uid('ttl')
    const storage = open({ url: sharedUrl, prefix })
    await expect(storage.set('ns', 'k', 1, { ttl: 0 })).rejects.toBeInstanceOf(ConfigError)
    await expect(storage.add('ns', 'k', 1, { ttl: Number.NaN })).rejects.toBeInstanceOf(ConfigError)
    expect(await raw.exists(`${prefix}:ns:k`)).toBe(0)
    await storage.close()
  })

  it('uses the codec it is given', async () => {
    class Point {
      constructor(
        public x = 0,
        public y = 0,
      ) {}
    }
    const codec = createCodec().registerClass(Point, { name: 'Point' })
    const storage = open({ url: sharedUrl, prefix: uid('codec'), codec })
    await storage.set('ns', 'p', new Point(1, 2))
    const value = (await storage.get('ns', 'p'))?.value
    expect(value).toBeInstanceOf(Point)
    expect(value).toEqual(new Point(1, 2))
    await storage.clear('ns')
    await storage.close()
  })
})
