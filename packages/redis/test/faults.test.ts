// Faults a real server produces on demand: down from the start, killed mid-run (SIGKILL) and restarted on the
// same port, hung (SIGSTOP) while connected and while connecting. Callers must get correct values (fail-open
// through core's cacheValue) within the operation timeout, and caching must resume when the server is back.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClient } from 'redis'
import { counted as countedFn, timed, uid } from './counted'
import { disposer, envPort, type RedisProcess, redisCli, startRedisServer } from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))

const BASE = envPort('REDIS_SPARE_PORT', 7200)
const TIMEOUT = 300
// Scheduling slack on a busy 2-core machine.
const MARGIN = 400
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// A short cooldown, so these tests also show the breaker probing the server again and caching resuming.
const counted = (storage: RedisStorage) =>
  countedFn(storage, { name: 'double', circuitBreaker: { failures: 5, cooldownMs: 200 } })

const servers: RedisProcess[] = []
afterAll(async () => {
  await cleanup.disposeAll()
  await Promise.all(servers.map((s) => s.stop()))
}, 60_000)

describe('a server that is down from the start', () => {
  it('makes calls fail fast (not after the timeout) and cached functions still return their values', async () => {
    const port = BASE + 3
    expect((await redisCli(port, 'ping').catch(() => 'refused')).includes('PONG')).toBe(false)
    const storage = open({ url: `redis://127.0.0.1:${port}`, operationTimeoutMs: 1000 })
    const first = await timed(() => storage.get('ns', 'k'))
    expect(first.error).toBeInstanceOf(StorageError)
    expect(first.error).toMatchObject({ op: 'get', storage: 'redis' })
    expect(first.ms).toBeLessThan(500)
    const { fn, state } = counted(storage)
    const call = await timed(() => fn(7))
    expect(call.result).toBe('value-7')
    expect(call.ms).toBeLessThan(500)
    // A failed read skips that call's write: the failing server is asked once, not twice.
    expect(state.reports.map((r) => r.op)).toEqual(['get'])
    await storage.close()
  })
})

describe('a server killed mid-run (SIGKILL) and restarted on the same port', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startRedisServer(BASE)
    servers.push(server)
  }, 60_000)

  it('keeps returning correct values within the timeout, then caches again once the server is back', async () => {
    const storage = open({ url: server.url, operationTimeoutMs: TIMEOUT })
    const { fn, state } = counted(storage)
    for (let x = 0; x < 10; x++) expect(await fn(x)).toBe(`value-${x}`)
    for (let x = 0; x < 10; x++) expect(await fn(x)).toBe(`value-${x}`)
    expect(state.calls).toBe(10)

    server.signal('SIGKILL')
    await server.exited()
    const direct = await timed(() => storage.get('ns', 'k'))
    expect(direct.error).toBeInstanceOf(StorageError)
    expect(direct.ms).toBeLessThan(TIMEOUT + MARGIN)
    const slowest = { ms: 0 }
    for (let i = 0; i < 30; i++) {
      const x = i % 10
      const call = await timed(() => fn(x))
      expect(call.error).toBeUndefined()
      expect(call.result).toBe(`value-${x}`)
      slowest.ms = Math.max(slowest.ms, call.ms)
    }
    // A read fails at once (no offline queue) or at worst after its timeout; a failed read skips the write.
    expect(slowest.ms).toBeLessThan(TIMEOUT + MARGIN)
    expect(state.reports.length).toBeGreaterThan(0)
    expect(state.reports.every((r) => r.error instanceof StorageError)).toBe(true)
    // 30 calls against a dead server: the circuit breaker opened (and said so) and spared most of the rest; on
    // a slow machine a 200 ms cooldown may pass and a probe re-open it, hence "at least one".
    const opened = state.reports.filter((r) => r.error.message.includes('circuitBreaker'))
    expect(opened.length).toBeGreaterThanOrEqual(1)
    expect(state.reports.length).toBeLessThan(30)

    await server.restart()
    const restartedAt = performance.now()
    let resumedAfter = Number.NaN
    while (performance.now() - restartedAt < 10_000) {
      const before = state.calls
      expect(await fn(1000)).toBe('value-1000')
      expect(await fn(1000)).toBe('value-1000')
      // Two calls, one run of fn: the first call's value was stored and the second read it back.
      if (state.calls === before + 1) {
        resumedAfter = performance.now() - restartedAt
        break
      }
      await sleep(50)
    }
    expect(resumedAfter).toBeLessThan(3000)
    process.stdout.write(`redis standalone: caching resumed ${Math.round(resumedAfter)} ms after restart\n`)
    await storage.close()
  }, 30_000)
})

describe("a user's client whose first connect fails for good", () => {
  it('is connected again in the background, so caching starts once the server is up', async () => {
    const port = BASE + 5
    const client = cleanup.track(
      createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } }),
    )
    client.on('error', () => {})
    const storage = open({ client, prefix: uid('retry'), operationTimeoutMs: TIMEOUT })
    const first = await timed(() => storage.get('ns', 'k'))
    expect(first.error).toBeInstanceOf(StorageError)
    expect(client.isOpen).toBe(false)
    const server = await startRedisServer(port)
    servers.push(server)
    const start = performance.now()
    for (;;) {
      const attempt = await timed(() => storage.set('ns', 'k', 'v'))
      if (attempt.error === undefined) break
      expect(attempt.ms).toBeLessThan(TIMEOUT + MARGIN)
      expect(performance.now() - start).toBeLessThan(5000)
      await sleep(50)
    }
    expect((await storage.get('ns', 'k'))?.value).toBe('v')
    await storage.close()
    expect(client.isOpen).toBe(true)
    await client.close()
  })
})

describe('a hung server (SIGSTOP)', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startRedisServer(BASE + 1)
    servers.push(server)
  }, 60_000)
  afterAll(() => {
    server.signal('SIGCONT')
  })

  it('makes every operation fail within operationTimeoutMs, and recovers with correct replies after SIGCONT', async () => {
    const storage = open({ url: server.url, prefix: uid('hung'), operationTimeoutMs: TIMEOUT })
    await storage.set('ns', 'a', 'A')
    const { fn, state } = counted(storage)
    expect(await fn(1)).toBe('value-1')

    server.signal('SIGSTOP')
    try {
      const ops: (() => Promise<unknown>)[] = [
        () => storage.get('ns', 'a'),
        () => storage.set('ns', 'b', 'B'),
        () => storage.add('ns', 'c', 'C'),
        () => storage.delete('ns', 'a'),
        () => storage.clear('other'),
      ]
      for (const op of ops) {
        const result = await timed(op)
        expect(result.error).toBeInstanceOf(StorageError)
        expect((result.error as Error).message).toContain('timed out')
        expect(result.ms).toBeGreaterThanOrEqual(TIMEOUT - 20)
        expect(result.ms).toBeLessThan(TIMEOUT + MARGIN)
      }
      // cacheValue fails open: its read waits at most the timeout, and a failed read skips the write.
      const call = await timed(() => fn(2))
      expect(call.result).toBe('value-2')
      expect(call.ms).toBeLessThan(TIMEOUT + MARGIN)
      expect(state.reports.map((r) => r.op)).toEqual(['get'])
    } finally {
      server.signal('SIGCONT')
    }

    // The late replies of the timed-out commands are dropped; new commands get their own replies.
    await storage.set('ns', 'x', 'X')
    await storage.set('ns', 'y', 'Y')
    const [x, y] = await Promise.all([storage.get('ns', 'x'), storage.get('ns', 'y')])
    expect(x?.value).toBe('X')
    expect(y?.value).toBe('Y')
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
    const storage = open({ url: server.url, operationTimeoutMs: TIMEOUT })
    await storage.set('ns', uid('k'), 1)
    server.signal('SIGSTOP')
    try {
      const closing = await timed(() => storage.close())
      expect(closing.error).toBeUndefined()
      expect(closing.ms).toBeLessThan(TIMEOUT + MARGIN)
    } finally {
      server.signal('SIGCONT')
    }
  })
})

describe('a server that hangs while we connect', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startRedisServer(BASE + 4)
    servers.push(server)
  }, 60_000)
  afterAll(() => {
    server.signal('SIGCONT')
  })

  it('bounds the first call, then works once the server answers', async () => {
    const storage = open({ url: server.url, prefix: uid('hungconnect'), operationTimeoutMs: TIMEOUT })
    server.signal('SIGSTOP')
    try {
      const first = await timed(() => storage.set('ns', 'k', 1))
      expect(first.error).toBeInstanceOf(StorageError)
      expect(first.ms).toBeLessThan(TIMEOUT + MARGIN)
      const second = await timed(() => storage.get('ns', 'k'))
      expect(second.error).toBeInstanceOf(StorageError)
      expect(second.ms).toBeLessThan(TIMEOUT + MARGIN)
    } finally {
      server.signal('SIGCONT')
    }
    const start = performance.now()
    for (;;) {
      const attempt = await timed(() => storage.set('ns', 'k', 2))
      if (attempt.error === undefined) break
      expect(performance.now() - start).toBeLessThan(5000)
      await sleep(50)
    }
    expect((await storage.get('ns', 'k'))?.value).toBe(2)
    await storage.clear('ns')
    await storage.close()
  })
})
