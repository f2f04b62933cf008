// faults.test.ts's faults, with the user's ioredis client instead of a storage built from a URL: a server down from
// the start, killed mid-run (SIGKILL) and restarted, a first connect that fails for good, hung (SIGSTOP) while
// connected and while connecting. Callers get correct values (fail-open) within the operation timeout, caching
// resumes when the server is back, and the client stays the user's. The clients use the README's options.
import { afterAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import type { RedisOptions } from 'ioredis'
import { counted as countedFn, timed, uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import { disposer, envPort, type RedisProcess, redisCli, startRedisServer } from './servers'

const cleanup = disposer()
const clients = ioredisClients()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))

const BASE = envPort('REDIS_SPARE_PORT', 7200)
const TIMEOUT = 300
// Scheduling slack on a busy 2-core machine.
const MARGIN = 400
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
// The README's options: commands fail at once while disconnected instead of queueing (memokit still waits for
// the first connect), and reconnects back off 50 ms doubling up to 1 s.
const RECOMMENDED: RedisOptions = {
  enableOfflineQueue: false,
  retryStrategy: (times) => Math.min(50 * 2 ** times, 1000),
}
const userClient = (port: number, options: RedisOptions = RECOMMENDED) =>
  clients.redis(`redis://127.0.0.1:${port}`, options)

const counted = (storage: RedisStorage) =>
  countedFn(storage, { name: 'double', circuitBreaker: { failures: 5, cooldownMs: 200 } })

const servers: RedisProcess[] = []
afterAll(async () => {
  await cleanup.disposeAll()
  await clients.closeAll()
  await Promise.all(servers.map((s) => s.stop()))
}, 60_000)

describe('ioredis: a server that is down from the start', () => {
  it('makes calls fail fast (not after the timeout) and cached functions still return their values', async () => {
    const port = BASE + 23
    expect((await redisCli(port, 'ping').catch(() => 'refused')).includes('PONG')).toBe(false)
    const storage = open({ client: userClient(port), operationTimeoutMs: 1000 })
    const first = await timed(() => storage.get('ns', 'k'))
    expect(first.error).toBeInstanceOf(StorageError)
    expect(first.error).toMatchObject({ op: 'get', storage: 'redis' })
    expect(first.ms).toBeLessThan(500)
    const { fn, state } = counted(storage)
    const call = await timed(() => fn(7))
    expect(call.result).toBe('value-7')
    expect(call.ms).toBeLessThan(500)
    expect(state.reports.map((r) => r.op)).toEqual(['get'])
  })
})

describe('ioredis: a server killed mid-run (SIGKILL) and restarted on the same port', () => {
  it('keeps returning correct values within the timeout, then caches again once the server is back', async () => {
    const server = await startRedisServer(BASE + 24)
    servers.push(server)
    const client = userClient(server.port)
    const storage = open({ client, prefix: uid('io-kill'), operationTimeoutMs: TIMEOUT })
    const { fn, state } = counted(storage)
    for (let x = 0; x < 10; x++) expect(await fn(x)).toBe(`value-${x}`)
    for (let x = 0; x < 10; x++) expect(await fn(x)).toBe(`value-${x}`)
    expect(state.calls).toBe(10)

    server.signal('SIGKILL')
    await server.exited()
    const direct = await timed(() => storage.get('ns', 'k'))
    expect(direct.error).toBeInstanceOf(StorageError)
    expect(direct.ms).toBeLessThan(TIMEOUT + MARGIN)
    let slowest = 0
    for (let i = 0; i < 30; i++) {
      const call = await timed(() => fn(i % 10))
      expect(call.result).toBe(`value-${i % 10}`)
      slowest = Math.max(slowest, call.ms)
    }
    expect(slowest).toBeLessThan(TIMEOUT + MARGIN)
    expect(state.reports.every((r) => r.error instanceof StorageError)).toBe(true)
    expect(state.reports.some((r) => r.error.message.includes('circuitBreaker'))).toBe(true)
    expect(state.reports.length).toBeLessThan(30)

    await server.restart()
    const restartedAt = performance.now()
    let resumedAfter = Number.NaN
    while (performance.now() - restartedAt < 10_000) {
      const before = state.calls
      expect(await fn(1000)).toBe('value-1000')
      expect(await fn(1000)).toBe('value-1000')
      if (state.calls === before + 1) {
        resumedAfter = performance.now() - restartedAt
        break
      }
      await sleep(50)
    }
    expect(resumedAfter).toBeLessThan(3000)
    process.stdout.write(`redis standalone (ioredis): caching resumed ${Math.round(resumedAfter)} ms after restart\n`)
    await storage.close()
    expect(client.status).toBe('ready')
  }, 30_000)
})

describe("ioredis: a user's client whose first connect fails for good", () => {
  it('is connected again in the background, so caching starts once the server is up', async () => {
    const port = BASE + 25
    // lazyConnect: memokit makes the first connect, as for a node-redis client that isn't open yet.
    const client = userClient(port, { ...RECOMMENDED, lazyConnect: true, retryStrategy: () => null })
    const storage = open({ client, prefix: uid('io-retry'), operationTimeoutMs: TIMEOUT })
    const first = await timed(() => storage.get('ns', 'k'))
    expect(first.error).toBeInstanceOf(StorageError)
    expect(client.status).toBe('end')
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
    expect(client.status).toBe('ready')
  })
})

describe('ioredis: a hung server (SIGSTOP)', () => {
  it('makes every operation fail within operationTimeoutMs, and recovers with correct replies after SIGCONT', async () => {
    const server = await startRedisServer(BASE + 26)
    servers.push(server)
    // The default options: commands wait in ioredis' offline queue, and memokit's deadline bounds them.
    const client = userClient(server.port, {})
    const storage = open({ client, prefix: uid('io-hung'), operationTimeoutMs: TIMEOUT })
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
        expect((result.error as Error).message).toContain(`on 127.0.0.1:${server.port} timed out`)
        expect(result.ms).toBeGreaterThanOrEqual(TIMEOUT - 20)
        expect(result.ms).toBeLessThan(TIMEOUT + MARGIN)
      }
      const call = await timed(() => fn(2))
      expect(call.result).toBe('value-2')
      expect(call.ms).toBeLessThan(TIMEOUT + MARGIN)
      expect(state.reports.map((r) => r.op)).toEqual(['get'])
      // close() waits for what is in flight, which the timeout bounds, and leaves the client to its owner.
      const pending = storage.get('ns', 'a').catch((error: unknown) => error)
      const closing = await timed(() => storage.close())
      expect(closing.ms).toBeLessThan(TIMEOUT + MARGIN)
      expect(await pending).toBeInstanceOf(StorageError)
    } finally {
      server.signal('SIGCONT')
    }

    // The late replies of the timed-out commands are dropped; new commands get their own replies.
    const after = open({ client, prefix: uid('io-hung-after'), operationTimeoutMs: TIMEOUT })
    await after.set('ns', 'x', 'X')
    await after.set('ns', 'y', 'Y')
    const [x, y] = await Promise.all([after.get('ns', 'x'), after.get('ns', 'y')])
    expect(x?.value).toBe('X')
    expect(y?.value).toBe('Y')
    await after.clear('ns')
    expect(client.status).toBe('ready')
  })
})

describe('ioredis: a server that hangs while we connect', () => {
  it('bounds the first call, then works once the server answers', async () => {
    const server = await startRedisServer(BASE + 27)
    servers.push(server)
    server.signal('SIGSTOP')
    // Created now, the client connects to the hung server: the TCP handshake succeeds, its ready check hangs.
    const storage = open({
      client: userClient(server.port),
      prefix: uid('io-hungconnect'),
      operationTimeoutMs: TIMEOUT,
    })
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
  })
})
