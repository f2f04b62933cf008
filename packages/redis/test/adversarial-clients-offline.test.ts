// A write memokit reported failed (its operationTimeoutMs passed while the user's client was disconnected) must not
// reach the server later: another process's invalidation, done once the server is back, would be undone by it.
// node-redis holds such a command for its own commandOptions.timeout (5 s by default), longer than memokit's
// deadline: a standalone client in its offline queue, a pool in the offline queue of the member it handed it to.
// (Cluster and Sentinel clients: offline-queue-cluster.test.ts, offline-queue-sentinel.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClient, createClientPool } from 'redis'
import { uid } from './counted'
import { deleteAll, expectNoneLanded, expectRefused, writeOld } from './offline-writes'
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
  it('a set, an add and an acquireLease that timed out while disconnected never land after a later delete by another process', async () => {
    // Reconnects 1.5 s after a drop: the other process's deletes run first, on the restarted server.
    const client = createClient({ url: server.url, socket: { reconnectStrategy: () => 1500 } })
    client.on('error', () => {})
    await client.connect()
    try {
      const prefix = uid('adv-offline')
      const mine = open({ client, prefix, operationTimeoutMs: TIMEOUT })
      const other = open({ url: server.url, prefix, operationTimeoutMs: 2000 })
      await writeOld(mine)

      server.signal('SIGKILL')
      await server.exited()
      await until(() => !client.isReady)
      await expectRefused(mine)

      await server.restart()
      await deleteAll(other)
      await until(() => client.isReady)
      await sleep(100)
      await expectNoneLanded(other)
    } finally {
      client.destroy()
    }
  }, 15_000)
})

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
