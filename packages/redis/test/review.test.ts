// Cases an adversarial review of the Redis storage found uncovered: what a caller was told must stay true on the
// server afterwards. Servers of our own where a test needs to hang one (SIGSTOP); the shared one otherwise.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CodecError, createCodec, type Entry, StorageError } from '@memokit/core'
import { GET_THEN, type GetThen } from '@memokit/core/backend'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClient } from 'redis'
import { timed, uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import { disposer, envPort, type RedisProcess, redisCli, sharedRedis, startRedisServer } from './servers'

const BASE = envPort('REDIS_SPARE_PORT', 7200)
const TIMEOUT = 300
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const clients = ioredisClients()

let server: RedisProcess
let shared: Awaited<ReturnType<typeof sharedRedis>>
let raw: ReturnType<typeof createClient>
beforeAll(async () => {
  shared = await sharedRedis(BASE + 19)
  raw = cleanup.track(createClient({ url: shared.url }))
  raw.on('error', () => {})
  await raw.connect()
  server = await startRedisServer(BASE + 18)
  // The scripts known to the server, so a later delete is one EVALSHA (no NOSCRIPT round trip reordering it).
  const warm = redisStorage({ url: server.url })
  await warm.delete('ns', 'warm')
  await warm.close()
}, 60_000)

afterAll(async () => {
  server?.signal('SIGCONT')
  await cleanup.disposeAll()
  await clients.closeAll()
  await server?.stop()
  await shared?.stop()
}, 60_000)

// A write that timed out waiting for the first connect (the caller got a StorageError) must not be sent once the
// connection opens: it would land after the commands issued since, which the client queued meanwhile, and undo a
// delete (or overwrite a newer set) that had already resolved.
describe.each([
  ['node-redis', () => cleanup.track(createClient({ url: server.url })).on('error', () => {})],
  ['ioredis', () => clients.redis(server.url, { lazyConnect: true })],
] as const)('a write that timed out waiting for the first connect (%s client)', (_name, makeClient) => {
  it('is never sent afterwards: a later delete and a later set stay in force', async () => {
    const storage = open({ client: makeClient() as never, prefix: uid('gate'), operationTimeoutMs: TIMEOUT })
    server.signal('SIGSTOP')
    let deleting: Promise<boolean>
    let setting: Promise<void>
    try {
      const stale = await Promise.all([
        timed(() => storage.set('ns', 'deleted', 'stale')),
        timed(() => storage.set('ns', 'overwritten', 'stale')),
      ])
      for (const { error } of stale) expect(error).toBeInstanceOf(StorageError)
      // Issued after the timeouts, while the client is still connecting: the client queues them.
      deleting = storage.delete('ns', 'deleted')
      setting = storage.set('ns', 'overwritten', 'fresh')
      await sleep(20)
    } finally {
      server.signal('SIGCONT')
    }
    await deleting
    await setting
    // Whatever was still waiting for the connect has had time to land.
    await sleep(300)
    expect(await storage.get('ns', 'deleted')).toBeUndefined()
    expect((await storage.get('ns', 'overwritten'))?.value).toBe('fresh')
    await storage.clear('ns')
  })
})

// The client's keyPrefix is part of SCAN's pattern, so its glob characters must be escaped too: unescaped, a
// `\` or `[` in it keeps the pattern from matching this client's own keys, which clear then leaves behind. Keys of
// other keyPrefixes the pattern could reach stay untouched either way.
describe.each(['node-redis', 'ioredis'] as const)(
  'clear through a client keyPrefix with glob characters (%s)',
  (kind) => {
    it("removes this client's keys, and no other keyPrefix's", async () => {
      const base = uid('kp')
      const prefix = uid('p')
      const client = (keyPrefix: string) =>
        kind === 'ioredis'
          ? clients.redis(shared.url, { keyPrefix })
          : cleanup.track(createClient({ url: shared.url, keyPrefix })).on('error', () => {})
      const globbed = open({ client: client(`${base}*[ab]?\\:`) as never, prefix })
      const neighbours = [`${base}-xaY:`, `${base}*bZ\\:`, `${base}[ab]?:`].map((keyPrefix) =>
        open({ client: client(keyPrefix) as never, prefix }),
      )
      await globbed.set('ns', 'k', 'mine')
      for (const [i, n] of neighbours.entries()) await n.set('ns', 'k', i)
      await globbed.clear('ns')
      await globbed.clear('ns', 'k')
      for (const [i, n] of neighbours.entries()) expect((await n.get('ns', 'k'))?.value).toBe(i)
      expect(await globbed.get('ns', 'k')).toBeUndefined()
      for (const n of neighbours) await n.clear('ns')
    })
  },
)

// Core's hit path reads through GET_THEN: what `get` would reject with must reach onError there, once, as a
// typed error (a payload another writer corrupted, a key Redis cannot store), and an expired entry is a miss.
describe('GET_THEN', () => {
  const readThen = async (storage: RedisStorage, key: string) => {
    const seen: [string, unknown][] = []
    const result = await (storage as unknown as Record<symbol, GetThen>)[GET_THEN]?.call(
      storage,
      'ns',
      key,
      (entry: Entry | undefined) => seen.push(['entry', entry]),
      (error: unknown) => seen.push(['error', error]),
    )
    expect(result).toBe(1)
    return seen[0] as [string, unknown]
  }

  it('hands onError the CodecError of a corrupt payload, the StorageError of a lone surrogate; a miss when expired', async () => {
    const prefix = uid('then')
    const storage = open({ url: shared.url, prefix })
    const past = Date.now() - 10
    await raw.set(`${prefix}:ns:bad`, 'not a memokit payload', { expiration: { type: 'PX', value: 60_000 } })
    await raw.set(
      `${prefix}:ns:expired`,
      createCodec().encodeEntry({ value: 'old', createdAt: past - 100, expiresAt: past }),
      { expiration: { type: 'PX', value: 60_000 } },
    )
    // Connected first: reads then take the connected path (read.ts), not the one waiting for the first connect.
    await storage.get('ns', 'absent')
    const [bad, corrupt] = await readThen(storage, 'bad')
    expect(bad).toBe('error')
    expect(corrupt).toBeInstanceOf(CodecError)
    const [lone, refused] = await readThen(storage, 'k\uD800')
    expect(lone).toBe('error')
    expect(refused).toBeInstanceOf(StorageError)
    expect(await readThen(storage, 'expired')).toEqual(['entry', undefined])
    await storage.clear('ns')
  })
})

async function commandCounts(port: number): Promise<Map<string, number>> {
  const out = await redisCli(port, 'info', 'commandstats')
  return new Map([...out.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)].map((m) => [m[1] ?? '', Number(m[2])]))
}

// An ACL may deny some keys while allowing scripts. A key refused (NOPERM) is not a server without scripting: delete
// must stay one script, since fenced writes (setIfLeased, a script) still land, and one could land between the
// two UNLINKs of the scriptless delete, leaving the overtaken value it wrote.
describe('delete on a server whose ACL refuses some keys', () => {
  it('stays one script for the keys it may touch after a key was refused', async () => {
    const prefix = uid('acl')
    const user = uid('user')
    await redisCli(server.port, 'ACL', 'SETUSER', user, 'on', '>pw', `~${prefix}:ok:*`, '+@all')
    const storage = open({ url: `redis://${user}:pw@127.0.0.1:${server.port}`, prefix })
    await expect(storage.delete('denied', 'k')).rejects.toBeInstanceOf(StorageError)
    const token = 'review-token-0123456789'
    expect(await storage.acquireLease('ok', 'k', token, 60_000)).toBe(true)
    expect(await storage.setIfLeased('ok', 'k', 'v', token)).toBe(true)
    const before = await commandCounts(server.port)
    expect(await storage.delete('ok', 'k')).toBe(true)
    const after = await commandCounts(server.port)
    // The script's own UNLINKs count too: without it, the two UNLINKs are all there is.
    const sent = Object.fromEntries(
      [...after].filter(([name]) => name !== 'info').map(([name, n]) => [name, n - (before.get(name) ?? 0)]),
    )
    expect(Object.fromEntries(Object.entries(sent).filter(([, n]) => n > 0))).toEqual({ evalsha: 1, unlink: 2 })
  })
})
