// Faults a real server produces on demand: down from the start, killed mid-run (SIGKILL) and restarted on the
// same port, hung (SIGSTOP) while connected and while connecting. Callers must get correct values (fail-open
// through core's cacheValue) within the operation timeout, and caching must resume when the server is back.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { createClient } from 'redis'
import { timed, uid } from './counted'
import * as faults from './fault-checks'
import { type RedisProcess, redisCli } from './servers'

const { open, track, startServer } = faults.faultFixtures()

describe('a server that is down from the start', () => {
  it('makes calls fail fast (not after the timeout) and cached functions still return their values', async () => {
    const port = faults.BASE + 3
    expect((await redisCli(port, 'ping').catch(() => 'refused')).includes('PONG')).toBe(false)
    const storage = open({ url: `redis://127.0.0.1:${port}`, operationTimeoutMs: 1000 })
    await faults.expectFailsFastWhenDown(storage)
    await storage.close()
  })
})

describe('a server killed mid-run (SIGKILL) and restarted on the same port', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startServer(faults.BASE)
  }, 60_000)

  it('keeps returning correct values within the timeout, then caches again once the server is back', async () => {
    const storage = open({ url: server.url, operationTimeoutMs: faults.TIMEOUT })
    await faults.expectKillThenResume(server, storage, 'redis standalone')
    await storage.close()
  }, 30_000)
})

describe("a user's client whose first connect fails for good", () => {
  it('is connected again in the background, so caching starts once the server is up', async () => {
    const port = faults.BASE + 5
    const client = track(createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } }))
    client.on('error', () => {})
    const storage = open({ client, prefix: uid('retry'), operationTimeoutMs: faults.TIMEOUT })
    const first = await timed(() => storage.get('ns', 'k'))
    expect(first.error).toBeInstanceOf(StorageError)
    expect(client.isOpen).toBe(false)
    await startServer(port)
    await faults.expectWritableSoon(storage, 'v', { boundEachAttempt: true })
    await storage.close()
    expect(client.isOpen).toBe(true)
    await client.close()
  })
})

describe('a hung server (SIGSTOP)', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startServer(faults.BASE + 1)
  }, 60_000)
  afterAll(() => {
    server.signal('SIGCONT')
  })

  it('makes every operation fail within operationTimeoutMs, and recovers with correct replies after SIGCONT', async () => {
    const storage = open({ url: server.url, prefix: uid('hung'), operationTimeoutMs: faults.TIMEOUT })
    await storage.set('ns', 'a', 'A')
    const { fn, state } = faults.counted(storage)
    expect(await fn(1)).toBe('value-1')

    server.signal('SIGSTOP')
    try {
      await faults.expectHungServerBounds(storage, { fn, state }, 'timed out')
    } finally {
      server.signal('SIGCONT')
    }

    await faults.expectOwnReplies(storage)
    expect(await fn(1)).toBe('value-1')
    await storage.clear('ns')
    await storage.close()
  })

  it('caps the commands waiting on a hung server: past 10,000, calls fail at once', async () => {
    // A longer timeout than the other tests: what shows "at once" is that the extra call is refused long before the
    // 10,000 calls queued ahead of it time out. Under load, encoding and writing those 10,000 commands has delayed
    // the refusal by up to 244 ms (a CI run), so a 300 ms timeout left no room to tell the two apart.
    const timeout = 2000
    const storage = open({ url: server.url, prefix: uid('cap'), operationTimeoutMs: timeout })
    await storage.set('ns', 'k', 1)
    server.signal('SIGSTOP')
    try {
      let firstQueuedSettledAt = Number.POSITIVE_INFINITY
      const waiting = Array.from({ length: 10_000 }, (_, i) =>
        storage.get('ns', `k${i}`).catch((e: unknown) => {
          firstQueuedSettledAt = Math.min(firstQueuedSettledAt, performance.now())
          return e
        }),
      )
      const extra = await timed(() => storage.get('ns', 'k'))
      const extraSettledAt = performance.now()
      expect(extra.error).toBeInstanceOf(StorageError)
      // The cause says it was refused, not timed out.
      expect(((extra.error as Error).cause as Error).message).toMatch(/queue is full/i)
      expect(extra.ms).toBeLessThan(timeout / 2)
      const errors = await Promise.all(waiting)
      expect(errors.every((e) => e instanceof StorageError && e.message.includes('timed out'))).toBe(true)
      // Refused before any call queued ahead of it had timed out: it did not wait for a timer of its own.
      expect(extraSettledAt).toBeLessThan(firstQueuedSettledAt)
    } finally {
      server.signal('SIGCONT')
    }
    await storage.close()
  })

  it('bounds close() on a hung server', async () => {
    const storage = open({ url: server.url, operationTimeoutMs: faults.TIMEOUT })
    await storage.set('ns', uid('k'), 1)
    server.signal('SIGSTOP')
    try {
      const closing = await timed(() => storage.close())
      expect(closing.error).toBeUndefined()
      expect(closing.ms).toBeLessThan(faults.TIMEOUT + faults.MARGIN)
    } finally {
      server.signal('SIGCONT')
    }
  })
})

describe('a server that hangs while we connect', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startServer(faults.BASE + 4)
  }, 60_000)
  afterAll(() => {
    server.signal('SIGCONT')
  })

  it('bounds the first call, then works once the server answers', async () => {
    const storage = open({ url: server.url, prefix: uid('hungconnect'), operationTimeoutMs: faults.TIMEOUT })
    server.signal('SIGSTOP')
    await faults.expectBoundedWhileConnecting(server, storage)
    await faults.expectWritableSoon(storage, 2, { boundEachAttempt: false })
    await storage.clear('ns')
    await storage.close()
  })
})
