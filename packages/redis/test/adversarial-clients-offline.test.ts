// A write memokit reported failed (its operationTimeoutMs passed while the user's client was disconnected) must not
// reach the server later: another process's invalidation, done once the server is back, would be undone by it.
// node-redis' offline queue holds such a command for its own commandOptions.timeout (5 s by default), longer than
// memokit's deadline.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClient } from 'redis'
import { uid } from './counted'
import { disposer, envPort, type RedisProcess, startRedisServer } from './servers'

const PORT = envPort('REDIS_ADV_OFFLINE_PORT', 7800)
const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const TIMEOUT = 300

let server: RedisProcess
beforeAll(async () => {
  server = await startRedisServer(PORT)
}, 30_000)
afterAll(async () => {
  await cleanup.disposeAll()
  await server?.stop()
}, 30_000)

async function until(check: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached')
    await sleep(20)
  }
}

describe("a user's node-redis client with its offline queue (the default)", () => {
  it.each([
    ['set', (s: RedisStorage) => s.set('ns', 'k', 'stale')],
    ['add', (s: RedisStorage) => s.add('ns', 'k', 'stale')],
    // A lease taken late would hold off every other process's computation of the key until its ttl.
    ['acquireLease', (s: RedisStorage) => s.acquireLease('ns', 'k', 'late-token-0123456789', 60_000)],
  ])(
    'a %s that timed out while disconnected never lands after a later delete by another process',
    async (_, write) => {
      // Reconnects 1.5 s after a drop: the other process's delete runs first, on the restarted server.
      const client = createClient({ url: server.url, socket: { reconnectStrategy: () => 1500 } })
      client.on('error', () => {})
      await client.connect()
      try {
        const prefix = uid('adv-offline')
        const mine = open({ client, prefix, operationTimeoutMs: TIMEOUT })
        const other = open({ url: server.url, prefix, operationTimeoutMs: 2000 })
        await mine.set('ns', 'k', 'old')

        server.signal('SIGKILL')
        await server.exited()
        await until(() => !client.isReady)
        await expect(write(mine)).rejects.toBeInstanceOf(StorageError)

        await server.restart()
        await other.delete('ns', 'k')
        await until(() => client.isReady)
        await sleep(100)
        expect((await other.get('ns', 'k'))?.value).toBeUndefined()
        expect(await other.acquireLease('ns', 'k', 'other-token-0123456789', 1000)).toBe(true)
      } finally {
        client.destroy()
      }
    },
    15_000,
  )
})
