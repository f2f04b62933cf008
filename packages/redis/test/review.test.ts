// Cases an adversarial review of the Redis storage found uncovered: what a caller was told must stay true on the
// server afterwards. Servers of our own where a test needs to hang one (SIGSTOP); the shared one otherwise.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClient } from 'redis'
import { timed, uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import { disposer, envPort, type RedisProcess, startRedisServer } from './servers'

const BASE = envPort('REDIS_SPARE_PORT', 7200)
const TIMEOUT = 300
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const clients = ioredisClients()

let server: RedisProcess
beforeAll(async () => {
  server = await startRedisServer(BASE + 40)
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
