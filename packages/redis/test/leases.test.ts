// The lease members of redisStorage on the shared server, through node-redis (URL, own client with a keyPrefix)
// and ioredis (with and without a keyPrefix): the physical lease key (never an entry's, invisible to get, found by
// exactly the clears that find its entry), delete and clear removing leases, nasty keys, and bad arguments.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { ConfigError } from '@memokit/core'
import { type RedisStorage, redisStorage } from '@memokit/redis'
import { createClient, RESP_TYPES } from 'redis'
import { uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import { disposer, envPort, sharedRedis } from './servers'

const cleanup = disposer()
const clients = ioredisClients()
const token = (): string => randomBytes(16).toString('hex')
const LONG = 60_000

let shared: Awaited<ReturnType<typeof sharedRedis>>
// Reads keys as bytes: a lease key is not valid UTF-8.
let raw: ReturnType<typeof createClient>
let bytes: ReturnType<ReturnType<typeof createClient>['withTypeMapping']>

beforeAll(async () => {
  shared = await sharedRedis(envPort('REDIS_LEASE_PORT', 7280) + 1)
  raw = cleanup.track(createClient({ url: shared.url }))
  raw.on('error', () => {})
  await raw.connect()
  bytes = raw.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await clients.closeAll()
  await shared?.stop()
}, 60_000)

/** Every key under `pattern` on the shared server, as bytes. */
async function keysUnder(pattern: string): Promise<Buffer[]> {
  const found: Buffer[] = []
  let cursor = '0'
  do {
    const reply = await bytes.scan(cursor, { MATCH: pattern, COUNT: 1000 })
    cursor = String(reply.cursor)
    found.push(...(reply.keys as unknown as Buffer[]))
  } while (cursor !== '0')
  return found
}

// Each kind of client memokit drives, with the keyPrefix it adds in front of memokit's keys ('' for none).
const kinds: { name: string; keyPrefix: string; create(prefix: string): RedisStorage }[] = [
  { name: 'node-redis url', keyPrefix: '', create: (prefix) => redisStorage({ url: shared.url, prefix }) },
  {
    name: 'node-redis client with keyPrefix',
    keyPrefix: 'tenant{x:',
    create: (prefix) => {
      const client = cleanup.track(createClient({ url: shared.url, keyPrefix: 'tenant{x:' }))
      client.on('error', () => {})
      return redisStorage({ client, prefix })
    },
  },
  { name: 'ioredis', keyPrefix: '', create: (prefix) => redisStorage({ client: clients.redis(shared.url), prefix }) },
  {
    name: 'ioredis with keyPrefix',
    keyPrefix: 'io*:',
    create: (prefix) => redisStorage({ client: clients.redis(shared.url, { keyPrefix: 'io*:' }), prefix }),
  },
]

// Keys that look like lease suffixes, hash tags, escapes, or what 0xFF turns into when read as UTF-8 (U+FFFD).
const NASTY = [
  '',
  ':lease',
  '\u0000',
  '{x}',
  '}{',
  '{',
  'a}',
  'é',
  '😀',
  'k\uFFFD',
  'k\uFFFD\uFFFD',
  '%3A',
  '*?[',
  'x'.repeat(600),
]

describe.each(kinds)('redis leases ($name)', ({ keyPrefix, create }) => {
  let storage: RedisStorage
  let prefix: string
  const glob = (ns: string): string => `${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}${prefix}:${ns}:*`

  beforeAll(() => {
    prefix = uid('lease')
    storage = cleanup.track(create(prefix))
  })

  it('keeps the lease in a key of its own: the entry key, 0xFF, no other entry key, and invisible to get', async () => {
    const t = token()
    expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
    const [lease, ...others] = await keysUnder(glob('ns'))
    expect(others).toEqual([])
    const entryKey = Buffer.from(`${keyPrefix}${prefix}:ns:k`)
    expect(lease?.subarray(0, entryKey.length)).toEqual(entryKey)
    expect(lease?.[entryKey.length]).toBe(0xff)
    expect(await raw.get(lease as Buffer)).toBe(t)
    expect(await storage.get('ns', 'k')).toBeUndefined()
    // What a UTF-8 reader makes of the lease key is just another entry key, and a different one.
    const misread = (lease as Buffer).toString().slice(`${keyPrefix}${prefix}:ns:`.length)
    expect(misread.startsWith('k\uFFFD')).toBe(true)
    await storage.set('ns', misread, 1)
    expect(await raw.get(lease as Buffer)).toBe(t)
    expect(await storage.setIfLeased('ns', 'k', 'v', t)).toBe(true)
    expect((await storage.get('ns', 'k'))?.value).toBe('v')
    expect(await keysUnder(glob('ns'))).toHaveLength(2)
    await storage.clear('ns')
  })

  it('keeps nasty keys apart: every lease and entry its own, each fenced write landing on its own entry', async () => {
    const tokens = NASTY.map(() => token())
    const taken = await Promise.all(
      NASTY.map((key, i) => storage.acquireLease('nasty', key, tokens[i] as string, LONG)),
    )
    expect(taken.every(Boolean)).toBe(true)
    expect(await keysUnder(glob('nasty'))).toHaveLength(NASTY.length)
    // Another token is refused on every one of them; the right token writes its own entry only.
    for (const key of NASTY) expect(await storage.acquireLease('nasty', key, token(), LONG)).toBe(false)
    for (const [i, key] of NASTY.entries()) {
      expect(await storage.setIfLeased('nasty', key, i, tokens[i] as string, { ttl: LONG })).toBe(true)
    }
    const entries = await Promise.all(NASTY.map((key) => storage.get('nasty', key)))
    expect(entries.map((e) => e?.value)).toEqual(NASTY.map((_, i) => i))
    expect(await keysUnder(glob('nasty'))).toHaveLength(NASTY.length)
    await storage.clear('nasty')
    expect(await keysUnder(glob('nasty'))).toEqual([])
  })

  it('delete removes the lease with the entry, and answers for the entry only', async () => {
    const t = token()
    expect(await storage.acquireLease('del', 'k', t, LONG)).toBe(true)
    expect(await storage.delete('del', 'k')).toBe(false)
    expect(await storage.setIfLeased('del', 'k', 'late', t)).toBe(false)
    expect(await storage.get('del', 'k')).toBeUndefined()
    const u = token()
    expect(await storage.acquireLease('del', 'k', u, LONG)).toBe(true)
    await storage.set('del', 'k', 'old')
    expect(await storage.delete('del', 'k')).toBe(true)
    expect(await storage.releaseLease('del', 'k', u)).toBe(false)
    expect(await keysUnder(glob('del'))).toEqual([])
    await storage.set('del', 'k', 'plain')
    expect(await storage.delete('del', 'k')).toBe(true)
    expect(await storage.delete('del', 'k')).toBe(false)
  })

  it('clear removes exactly the leases whose entries it removes', async () => {
    const keys = ['f:1', 'f:10', 'f:', 'f', 'g:1', 'f:1\uFFFD']
    const held = new Map(keys.map((k) => [k, token()]))
    for (const [k, t] of held) expect(await storage.acquireLease('cl', k, t, LONG)).toBe(true)
    const other = token()
    expect(await storage.acquireLease('cl2', 'f:1', other, LONG)).toBe(true)
    await storage.clear('cl', 'f:1')
    const kept = async (k: string): Promise<boolean> => storage.extendLease('cl', k, held.get(k) as string, LONG)
    expect(await kept('f:1')).toBe(false)
    expect(await kept('f:10')).toBe(false)
    expect(await kept('f:1\uFFFD')).toBe(false)
    expect(await kept('f:')).toBe(true)
    expect(await kept('f')).toBe(true)
    expect(await kept('g:1')).toBe(true)
    await storage.clear('cl')
    for (const k of ['f:', 'f', 'g:1']) expect(await kept(k)).toBe(false)
    expect(await storage.extendLease('cl2', 'f:1', other, LONG)).toBe(true)
    await storage.clear('cl2')
    expect(await keysUnder(glob('cl*'))).toEqual([])
  })

  it('writes through the lease as set does: ttl, no ttl over an expiring entry, meta', async () => {
    await storage.set('w', 'k', 'old', { ttl: 50_000 })
    const t = token()
    expect(await storage.acquireLease('w', 'k', t, LONG)).toBe(true)
    expect((await storage.get('w', 'k'))?.value).toBe('old')
    const before = Date.now()
    expect(await storage.setIfLeased('w', 'k', { n: 1 }, t, { meta: { promise: true } })).toBe(true)
    const entry = await storage.get('w', 'k')
    expect(entry).toEqual({
      value: { n: 1 },
      createdAt: expect.any(Number),
      expiresAt: undefined,
      meta: { promise: true },
    })
    expect(entry?.createdAt).toBeGreaterThanOrEqual(before)
    expect(await raw.pTTL(`${keyPrefix}${prefix}:w:k`)).toBe(-1)
    const u = token()
    expect(await storage.acquireLease('w', 'k', u, LONG)).toBe(true)
    expect(await storage.setIfLeased('w', 'k', 2, u, { ttl: 30_000.2 })).toBe(true)
    const pttl = await raw.pTTL(`${keyPrefix}${prefix}:w:k`)
    expect(pttl).toBeGreaterThan(29_000)
    expect(pttl).toBeLessThanOrEqual(30_001)
    expect((await storage.get('w', 'k'))?.expiresAt).toBeGreaterThan(Date.now() + 29_000)
    await storage.clear('w')
  })

  it('refuses bad tokens and ttls with a ConfigError, sending nothing', async () => {
    const bad = ['short', 'x'.repeat(65), 'x'.repeat(15), 42, undefined, `${'a'.repeat(20)}\uD800`]
    for (const t of bad) {
      await expect(storage.acquireLease('v', 'k', t as string, LONG)).rejects.toThrow(ConfigError)
      await expect(storage.releaseLease('v', 'k', t as string)).rejects.toThrow(ConfigError)
      await expect(storage.extendLease('v', 'k', t as string, LONG)).rejects.toThrow(ConfigError)
      await expect(storage.setIfLeased('v', 'k', 1, t as string)).rejects.toThrow(ConfigError)
    }
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1s']) {
      await expect(storage.acquireLease('v', 'k', token(), ttl as number)).rejects.toThrow(/lease ttl/)
      await expect(storage.extendLease('v', 'k', token(), ttl as number)).rejects.toThrow(ConfigError)
    }
    await expect(storage.setIfLeased('v', 'k', 1, token(), { ttl: -5 })).rejects.toThrow(ConfigError)
    // The limits themselves are fine.
    expect(await storage.acquireLease('v', 'k16', 'a'.repeat(16), LONG)).toBe(true)
    expect(await storage.acquireLease('v', 'k64', 'b'.repeat(64), LONG)).toBe(true)
    expect(await keysUnder(glob('v'))).toHaveLength(2)
    await storage.clear('v')
  })
})
