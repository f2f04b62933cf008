// The storage's lifecycle on real servers: close() drains what was already queued (also before the first connect
// finished), an idle storage doesn't keep the process alive, and every failure names the server it was about.
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClient } from 'redis'
import { uid } from './counted'
import { disposer, envPort, type RedisProcess, redisCli, startRedisServer, until } from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))

const BASE = envPort('REDIS_SPARE_PORT', 7200)
// Nothing listens here: connections are refused.
const DOWN_PORT = BASE + 9
const ROOT = resolve(__dirname, '../../..')
const FIXTURE = resolve(__dirname, 'fixtures/no-close.ts')
const TIER_FIXTURE = resolve(__dirname, 'fixtures/tier-no-close.ts')

let server: RedisProcess
let raw: ReturnType<typeof createClient>

beforeAll(async () => {
  server = await startRedisServer(BASE + 8)
  raw = cleanup.track(createClient({ url: server.url }))
  raw.on('error', () => {})
  await raw.connect()
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await server?.stop()
}, 60_000)

describe('close() before the first connect finished', () => {
  it('drains the writes already queued on a storage built from a url, then closes its connection', async () => {
    const prefix = uid('drain')
    const storage = redisStorage({ url: server.url, prefix })
    const writes = [storage.set('ns', 'a', 1), storage.set('ns', 'b', 2), storage.add('ns', 'c', 3)]
    const closing = storage.close()
    await expect(Promise.all(writes)).resolves.toEqual([undefined, undefined, true])
    await closing
    expect(await raw.mGet([`${prefix}:ns:a`, `${prefix}:ns:b`, `${prefix}:ns:c`])).not.toContain(null)
    await expect(storage.get('ns', 'a')).rejects.toMatchObject({ name: 'StorageError', op: 'get' })
    const clients = await redisCli(server.port, 'client', 'list')
    expect(clients.split('\n').filter((line) => line.includes('addr=')).length).toBe(2) // raw + redis-cli
  })

  it("drains them on a user's unopened client too, and leaves that client open", async () => {
    const client = cleanup.track(createClient({ url: server.url }))
    client.on('error', () => {})
    const prefix = uid('drainUser')
    const storage = redisStorage({ client, prefix })
    const write = storage.set('ns', 'k', 'v')
    await storage.close()
    await expect(write).resolves.toBeUndefined()
    expect(await raw.get(`${prefix}:ns:k`)).not.toBeNull()
    expect(client.isOpen).toBe(true)
    await client.close()
  })

  it('waits for a clear in progress before closing', async () => {
    const prefix = uid('drainClear')
    const storage = redisStorage({ url: server.url, prefix })
    await storage.set('ns', 'k', 1)
    const clearing = storage.clear('ns')
    await storage.close()
    await expect(clearing).resolves.toBeUndefined()
    expect(await raw.exists(`${prefix}:ns:k`)).toBe(0)
  })
})

describe('close() under a running computation', () => {
  it('stops extending its lease within one lease; the caller still gets its value, unstored', async () => {
    const prefix = uid('closing')
    const storage = redisStorage({ url: server.url, prefix })
    const reports: ErrorReport[] = []
    const slow = async (n: number) => {
      await new Promise((resolve) => setTimeout(resolve, 1500))
      return n * 2
    }
    const options = { storage, name: 'slow', lease: 300, onError: (r: ErrorReport) => reports.push(r) }
    const cached = cacheValue(slow, { ...options, singleFlight: 'distributed' })
    const call = cached(21)
    // close() once the lease is held: a fixed pause lost the race on a loaded CI machine, where connecting and
    // taking the lease took longer than it, and close() then came before there was any lease to extend.
    await until('the lease to be taken', async () => (await raw.keys(`${prefix}*`)).length > 0, 5000)
    await storage.close()
    expect(await call).toBe(42)
    // Extended every 100 ms while it could be; after close(), only until a whole lease had passed (at most 3
    // tries), not every 100 ms for the rest of fn's 1.5 s, each a report.
    const extensions = reports.filter((r) => r.op === 'extendLease')
    expect(extensions.length).toBeGreaterThan(0)
    expect(extensions.length).toBeLessThanOrEqual(3)
    expect(reports.filter((r) => r.op === 'setIfLeased')).toEqual([])
    expect(await raw.keys(`${prefix}*`)).toEqual([])
  })
})

describe('failures name the server', () => {
  it('says which server refused, on the first call and on every later one, without credentials', async () => {
    const storage = open({ url: `redis://app:s3cret@127.0.0.1:${DOWN_PORT}/2`, prefix: uid('down') })
    for (let i = 0; i < 3; i++) {
      const error = await storage.get('ns', 'k').then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(StorageError)
      const message = (error as Error).message
      expect(message).toContain(`127.0.0.1:${DOWN_PORT}`)
      expect(message).not.toContain('s3cret')
      // The driver's error (from node:net, another realm under jest: no instanceof).
      expect((error as Error).cause).toMatchObject({ message: expect.any(String) })
      await new Promise((r) => setTimeout(r, 20))
    }
  })

  it('names the server when the connection drops, and keeps the driver error as cause', async () => {
    const own = await startRedisServer(BASE + 10)
    try {
      const storage = open({ url: own.url, prefix: uid('drop'), operationTimeoutMs: 300 })
      await storage.set('ns', 'k', 1)
      own.signal('SIGKILL')
      await own.exited()
      const errors: Error[] = []
      for (let i = 0; i < 3; i++) {
        errors.push(
          await storage.get('ns', 'k').then(
            () => new Error('no error'),
            (e: Error) => e,
          ),
        )
      }
      for (const error of errors) {
        expect(error).toBeInstanceOf(StorageError)
        expect(error.message).toMatch(new RegExp(`^redis get on 127\\.0\\.0\\.1:${own.port} `))
        expect(error.cause).toBeInstanceOf(Error)
      }
      // node-redis' own text ("The client is offline") stays in the message and the cause.
      expect(errors.some((e) => (e.cause as Error).message === 'The client is offline')).toBe(true)
    } finally {
      await own.stop()
    }
  })

  it('names the server in a timeout', async () => {
    const storage = open({ url: server.url, prefix: uid('slow'), operationTimeoutMs: 200 })
    // Connected first; on a busy machine the first connect alone may take longer than 200 ms, so try a few times.
    for (let attempt = 1; ; attempt++) {
      const error = await storage.set('ns', 'k', 1).then(
        () => undefined,
        (e: unknown) => e,
      )
      if (error === undefined) break
      if (attempt === 5) throw error
    }
    server.signal('SIGSTOP')
    try {
      await expect(storage.get('ns', 'k')).rejects.toThrow(
        new RegExp(`^redis get on 127\\.0\\.0\\.1:${server.port} timed out after 200 ms`),
      )
    } finally {
      server.signal('SIGCONT')
    }
  })
})

describe('a script that never calls close()', () => {
  const runScript = (url: string, fixture = FIXTURE, ...args: string[]) =>
    new Promise<{ stdout: string; ms: number; code: number | null }>((done) => {
      const start = performance.now()
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', fixture, url, ...(args.length > 0 ? args : [uid('noclose')])],
        { cwd: ROOT, timeout: 15_000, killSignal: 'SIGKILL' },
        (error, stdout) => {
          done({ stdout, ms: performance.now() - start, code: error ? (child.exitCode ?? -1) : 0 })
        },
      )
    })

  it('exits by itself right after its cache hit', async () => {
    const result = await runScript(server.url)
    expect(JSON.parse(result.stdout)).toEqual({ first: 49, second: 49, calls: 1 })
    expect(result.code).toBe(0)
    // tsx start-up included; a storage holding the event loop open would run into the 15 s kill instead.
    expect(result.ms).toBeLessThan(8000)
  }, 20_000)

  it('exits by itself within a few seconds when the server is down', async () => {
    const result = await runScript(`redis://127.0.0.1:${DOWN_PORT}`)
    expect(JSON.parse(result.stdout)).toEqual({ first: 49, second: 49, calls: 2 })
    expect(result.code).toBe(0)
    expect(result.ms).toBeLessThan(10_000)
  }, 20_000)

  // Two tiers: the bus's sockets are unref'd, so a script that awaited `ready`, or the tier's or the bus's close(),
  // used to end right there (exit code 13: an unsettled top-level await), the rest of it never run.
  it('with two tiers, runs past `await tier.ready` and exits by itself', async () => {
    const result = await runScript(server.url, TIER_FIXTURE, uid('tier'), 'ready')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ read: 42 })
    expect(result.ms).toBeLessThan(8000)
  }, 20_000)

  it('with two tiers over your own client, closed at once: exits by itself, and reports no failed subscription', async () => {
    // The bus connects your client for its first subscription; closing everything while that connect was under way
    // left its socket open (the process never exited), and the subscription's timeout reported after the close.
    const result = await runScript(server.url, TIER_FIXTURE, uid('tierc'), 'client')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ closed: true, failures: 0 })
    expect(result.ms).toBeLessThan(8000)
  }, 20_000)

  it("with two tiers, gets past closing the tier and the bus, and the write's invalidation reached the bus", async () => {
    const prefix = uid('tierw')
    const heard: string[] = []
    const listener = raw.duplicate()
    listener.on('error', () => {})
    await listener.connect()
    await listener.pSubscribe('memokit:bus:*', (message) => {
      heard.push(message)
    })
    try {
      const result = await runScript(server.url, TIER_FIXTURE, prefix, 'close')
      expect(result.code).toBe(0)
      expect(JSON.parse(result.stdout)).toEqual({ closed: true })
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(heard.some((payload) => payload.includes(`written-${prefix}`))).toBe(true)
    } finally {
      listener.destroy()
    }
  }, 20_000)
})
