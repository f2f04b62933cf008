// faults.test.ts's faults, with the user's ioredis client instead of a storage built from a URL: a server down from
// the start, killed mid-run (SIGKILL) and restarted, a first connect that fails for good, hung (SIGSTOP) while
// connected and while connecting. Callers get correct values (fail-open) within the operation timeout, caching
// resumes when the server is back, and the client stays the user's. The clients use the README's options.
import { describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import type { RedisOptions } from 'ioredis'
import { timed, uid } from './counted'
import * as faults from './fault-checks'
import { ioredisClients } from './ioredis-clients'
import { redisCli } from './servers'

const clients = ioredisClients()
const { open, startServer } = faults.faultFixtures(() => clients.closeAll())

// The README's options: commands fail at once while disconnected instead of queueing (memokit still waits for
// the first connect), and reconnects back off 50 ms doubling up to 1 s.
const RECOMMENDED: RedisOptions = {
  enableOfflineQueue: false,
  retryStrategy: (times) => Math.min(50 * 2 ** times, 1000),
}
const userClient = (port: number, options: RedisOptions = RECOMMENDED) =>
  clients.redis(`redis://127.0.0.1:${port}`, options)

describe('ioredis: a server that is down from the start', () => {
  it('makes calls fail fast (not after the timeout) and cached functions still return their values', async () => {
    const port = faults.BASE + 23
    expect((await redisCli(port, 'ping').catch(() => 'refused')).includes('PONG')).toBe(false)
    const storage = open({ client: userClient(port), operationTimeoutMs: 1000 })
    await faults.expectFailsFastWhenDown(storage)
  })
})

describe('ioredis: a server killed mid-run (SIGKILL) and restarted on the same port', () => {
  it('keeps returning correct values within the timeout, then caches again once the server is back', async () => {
    const server = await startServer(faults.BASE + 24)
    const client = userClient(server.port)
    const storage = open({ client, prefix: uid('io-kill'), operationTimeoutMs: faults.TIMEOUT })
    await faults.expectKillThenResume(server, storage, 'redis standalone (ioredis)')
    await storage.close()
    expect(client.status).toBe('ready')
  }, 30_000)
})

describe("ioredis: a user's client whose first connect fails for good", () => {
  it('is connected again in the background, so caching starts once the server is up', async () => {
    const port = faults.BASE + 25
    // lazyConnect: memokit makes the first connect, as for a node-redis client that isn't open yet.
    const client = userClient(port, { ...RECOMMENDED, lazyConnect: true, retryStrategy: () => null })
    const storage = open({ client, prefix: uid('io-retry'), operationTimeoutMs: faults.TIMEOUT })
    const first = await timed(() => storage.get('ns', 'k'))
    expect(first.error).toBeInstanceOf(StorageError)
    expect(client.status).toBe('end')
    await startServer(port)
    await faults.expectWritableSoon(storage, 'v', { boundEachAttempt: true })
    await storage.close()
    expect(client.status).toBe('ready')
  })
})

describe('ioredis: a hung server (SIGSTOP)', () => {
  it('makes every operation fail within operationTimeoutMs, and recovers with correct replies after SIGCONT', async () => {
    const server = await startServer(faults.BASE + 26)
    // The default options: commands wait in ioredis' offline queue, and memokit's deadline bounds them.
    const client = userClient(server.port, {})
    const storage = open({ client, prefix: uid('io-hung'), operationTimeoutMs: faults.TIMEOUT })
    await storage.set('ns', 'a', 'A')
    const { fn, state } = faults.counted(storage)
    expect(await fn(1)).toBe('value-1')

    server.signal('SIGSTOP')
    try {
      await faults.expectHungServerBounds(storage, { fn, state }, `on 127.0.0.1:${server.port} timed out`)
      // close() waits for what is in flight, which the timeout bounds, and leaves the client to its owner.
      const pending = storage.get('ns', 'a').catch((error: unknown) => error)
      const closing = await timed(() => storage.close())
      expect(closing.ms).toBeLessThan(faults.TIMEOUT + faults.MARGIN)
      expect(await pending).toBeInstanceOf(StorageError)
    } finally {
      server.signal('SIGCONT')
    }

    // The late replies of the timed-out commands are dropped; new commands get their own replies.
    const after = open({ client, prefix: uid('io-hung-after'), operationTimeoutMs: faults.TIMEOUT })
    await faults.expectOwnReplies(after)
    await after.clear('ns')
    expect(client.status).toBe('ready')
  })
})

describe('ioredis: a server that hangs while we connect', () => {
  it('bounds the first call, then works once the server answers', async () => {
    const server = await startServer(faults.BASE + 27)
    server.signal('SIGSTOP')
    // Created now, the client connects to the hung server: the TCP handshake succeeds, its ready check hangs.
    const storage = open({
      client: userClient(server.port),
      prefix: uid('io-hungconnect'),
      operationTimeoutMs: faults.TIMEOUT,
    })
    await faults.expectBoundedWhileConnecting(server, storage)
    await faults.expectWritableSoon(storage, 2, { boundEachAttempt: false })
    await storage.clear('ns')
  })
})
