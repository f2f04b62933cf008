// A user's standalone node-redis client: memokit sends its commands without the client's own per-command timer
// while the client is ready (its operationTimeoutMs bounds them), and through the client as configured while it is
// disconnected. A real server of our own, hung with SIGSTOP and killed with SIGKILL.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, redisStorage } from '@memokit/redis'
import { createClient } from 'redis'
import { timed, uid } from './counted'
import { disposer, envPort, type RedisProcess, startRedisServer } from './servers'

const cleanup = disposer()
const PORT = envPort('REDIS_OWN_CLIENT_PORT', 7191)
// The client's own timer, and memokit's bound: far enough apart to tell which one fired on a busy machine.
const CLIENT_TIMEOUT = 100
const OPERATION_TIMEOUT = 800

let server: RedisProcess
beforeAll(async () => {
  server = await startRedisServer(PORT)
}, 60_000)
afterAll(async () => {
  await cleanup.disposeAll()
  await server.stop()
}, 60_000)

const userClient = () => {
  const client = cleanup.track(createClient({ url: server.url, commandOptions: { timeout: CLIENT_TIMEOUT } }))
  client.on('error', () => {})
  return client
}
const open = (client: ReturnType<typeof userClient>): RedisStorage =>
  cleanup.track(redisStorage({ client, prefix: uid('own'), operationTimeoutMs: OPERATION_TIMEOUT }))

describe("a user's standalone node-redis client", () => {
  it("bounds memokit's commands by operationTimeoutMs, not the client's timer, while it is ready", async () => {
    const client = await userClient().connect()
    const storage = open(client)
    await storage.set('ns', 'a', 'A')
    server.signal('SIGSTOP')
    let theirs: Promise<unknown> | undefined
    try {
      // node-redis 6 drops a command's timer once the command is written: on a connected client it never bounds the
      // wait for a reply, so dropping it for memokit's commands loses nothing (docs/storages.md, Redis).
      let theirsSettled = false
      theirs = client.get(`${uid('direct')}`).finally(() => {
        theirsSettled = true
      })
      const mine = await timed(() => storage.get('ns', 'a'))
      expect(mine.error).toBeInstanceOf(StorageError)
      expect((mine.error as Error).message).toContain(`timed out after ${OPERATION_TIMEOUT} ms (operationTimeoutMs)`)
      expect(mine.ms).toBeGreaterThanOrEqual(OPERATION_TIMEOUT - 20)
      expect(theirsSettled).toBe(false)
    } finally {
      server.signal('SIGCONT')
    }
    expect(await theirs).toBeNull()
    // The late reply is dropped; new commands get their own.
    expect((await storage.get('ns', 'a'))?.value).toBe('A')
    await client.close()
  }, 30_000)

  it('fails at once through the client while it is disconnected, not after operationTimeoutMs', async () => {
    const client = await userClient().connect()
    const storage = open(client)
    await storage.set('ns', 'b', 'B')
    server.signal('SIGKILL')
    try {
      for (let i = 0; i < 100 && client.isReady; i++) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(client.isReady).toBe(false)
      const result = await timed(() => storage.get('ns', 'b'))
      expect(result.error).toBeInstanceOf(StorageError)
      expect(result.ms).toBeLessThan(OPERATION_TIMEOUT - 100)
    } finally {
      await server.restart()
    }
    await client.close().catch(() => client.destroy())
  }, 30_000)
})
