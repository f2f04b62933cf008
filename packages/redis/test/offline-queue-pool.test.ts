// A write memokit reported failed (its operationTimeoutMs passed while a member of the user's client pool was
// disconnected) must not reach the server later, behind another process's delete. node-redis' pool hands the
// command to an idle member, whose offline queue (on by default) holds it for the member's own
// commandOptions.timeout (5 s by default), past memokit's deadline.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClientPool } from 'redis'
import { uid } from './counted'
import { deleteAll, expectNoneLanded, expectRefused, writeOld } from './offline-writes'
import { disposer, envPort, type RedisProcess, startRedisServer } from './servers'

const PORT = envPort('REDIS_OFFLINE_POOL_PORT', 7720)
const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const TIMEOUT = 300

let server: RedisProcess
beforeAll(async () => {
  server = await startRedisServer(PORT)
}, 30_000)
afterAll(async () => {
  await cleanup.disposeAll()
  await server?.stop()
}, 30_000)

describe("a user's client pool with its members' offline queue (the default)", () => {
  it('a set, an add and an acquireLease that timed out while disconnected never land after a later delete by another process', async () => {
    // One member, which reconnects 1.5 s after a drop: the other process's deletes run first, on the restarted
    // server. With one member, the PING below is queued behind the writes on the same connection.
    const pool = createClientPool({ url: server.url, socket: { reconnectStrategy: () => 1500 } }, { maximum: 1 })
    const dropped = new Promise((resolve) => pool.once('error', resolve))
    await pool.connect()
    try {
      const prefix = uid('offline-pool')
      const mine = open({ client: pool, prefix, operationTimeoutMs: TIMEOUT })
      const other = open({ url: server.url, prefix, operationTimeoutMs: 2000 })
      await writeOld(mine)

      server.signal('SIGKILL')
      await server.exited()
      await dropped
      await expectRefused(mine)

      await server.restart()
      await deleteAll(other)
      // Answered once the member has reconnected and sent what it held before it (the writes, if still queued).
      expect(await pool.sendCommand(['PING'])).toBe('PONG')
      await expectNoneLanded(other)
    } finally {
      pool.on('error', () => {})
      pool.destroy()
    }
  }, 15_000)
})
