// A write memokit reported failed (its operationTimeoutMs passed while the master was down) must not reach the
// server later, behind another process's delete. node-redis' Sentinel client holds a command while its master
// connection isn't ready (RedisSentinelInternal.execute waits for a reconnect or a new master, then sends it on the
// master's node client), for the client's own commandOptions.timeout (5 s by default), past memokit's deadline,
// with or without the node clients' offline queue.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createSentinel } from 'redis'
import { uid } from './counted'
import { disposer, envPort, type RedisSentinelProcesses, redisCli, startRedisSentinel } from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const TIMEOUT = 300

let servers: RedisSentinelProcesses
beforeAll(async () => {
  servers = await startRedisSentinel(
    envPort('REDIS_OFFLINE_SENTINEL_DATA_PORT', 7710),
    envPort('REDIS_OFFLINE_SENTINEL_PORT', 7712),
  )
  // No failover while the master is down: it comes back as the master (a restart, not a promotion).
  await Promise.all(
    servers.sentinels.map((s) => redisCli(s.port, 'sentinel', 'set', servers.name, 'down-after-milliseconds', '60000')),
  )
}, 60_000)
afterAll(async () => {
  await cleanup.disposeAll()
  await servers?.stop()
}, 60_000)

// With disableOfflineQueue (the README's example) too: the wait for a ready master is Sentinel's own.
describe.each([
  ["with its nodes' offline queue (the default)", false],
  ['with disableOfflineQueue', true],
])("a user's Sentinel client %s", (_, disableOfflineQueue) => {
  it.each([
    ['set', (s: RedisStorage) => s.set('ns', 'k', 'stale')],
    ['add', (s: RedisStorage) => s.add('ns', 'k', 'stale')],
    // A lease taken late would hold off every other process's computation of the key until its ttl.
    ['acquireLease', (s: RedisStorage) => s.acquireLease('ns', 'k', 'late-token-0123456789', 60_000)],
  ])(
    'a %s that timed out while the master was down never lands after a later delete by another process',
    async (_op, write) => {
      // The master connection reconnects 1.5 s after a drop: the other process's delete runs first.
      const client = createSentinel({
        name: servers.name,
        sentinelRootNodes: [...servers.sentinelRootNodes],
        nodeClientOptions: { disableOfflineQueue, socket: { reconnectStrategy: () => 1500 } },
        // The master connection's errors reach 'error' too: the test waits for the drop.
        passthroughClientErrorEvents: true,
      })
      client.on('error', () => {})
      await client.connect()
      const dropped = new Promise((resolve) => client.once('error', resolve))
      try {
        const prefix = uid('offline-sentinel')
        const mine = open({ client, prefix, operationTimeoutMs: TIMEOUT })
        const other = open({ url: servers.master.url, prefix, operationTimeoutMs: 2000 })
        const key = `${prefix}:ns:k`
        await mine.set('ns', 'k', 'old')

        servers.master.signal('SIGKILL')
        await servers.master.exited()
        await dropped
        const refused = await write(mine).then(
          () => undefined,
          (error: unknown) => error,
        )
        expect(refused).toBeInstanceOf(StorageError)
        // Not "no master known yet": one was known, it is down.
        expect((refused as Error).message).toMatch(/ on Sentinel \(no master ready\) timed out after 300 ms/)

        await servers.master.restart()
        await other.delete('ns', 'k')
        // Answered once the master connection is back; the write, if still held, goes out with it (or just after).
        await client.get(key)
        await sleep(100)
        expect((await other.get('ns', 'k'))?.value).toBeUndefined()
        expect(await other.acquireLease('ns', 'k', 'other-token-0123456789', 1000)).toBe(true)
      } finally {
        await client.destroy()
      }
    },
    20_000,
  )
})
