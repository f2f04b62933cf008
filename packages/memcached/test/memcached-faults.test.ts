// Faults of a real memcached: nothing listening, a hung server (SIGSTOP), a crash (SIGKILL) mid-run and a restart.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type AsyncStorage, cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { freeze, isListening, type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_FAULT_PORT', 11312)
const DEAD_PORT = portFromEnv('MEMCACHED_DEAD_PORT', 11313)
const TIMEOUT_MS = 400
// Timers fire late on a loaded machine: a failure must come within the timeout plus this.
const SLACK_MS = 500
const quiet = { log: () => undefined }

interface Made {
  readonly client: MemcachedClient
  close(): void
}

const adapters: ReadonlyArray<{ readonly name: string; make(address: string): Made }> = [
  {
    name: 'memjs',
    make(address) {
      const c = memjs.Client.create(address, { logger: quiet, timeout: 0.5, retries: 1 })
      return { client: fromMemjs(c), close: () => c.close() }
    },
  },
  {
    name: 'memcache-client',
    make(address) {
      // cmdTimeout (its default, 5 s) above operationTimeoutMs: memokit's own deadline must be what fires.
      const c = new MemcacheClient({ server: address, cmdTimeout: 5000, connectTimeout: 500 })
      return { client: fromMemcacheClient(c), close: () => c.shutdown() }
    },
  },
]

const rand = (): string => randomBytes(6).toString('hex')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let server: MemcachedServer

beforeAll(async () => {
  server = await startMemcached(PORT)
}, 15_000)

afterAll(async () => {
  await server?.stop()
}, 15_000)

/** Runs `op`, expects a StorageError, returns how long it took. */
async function failsWithin(op: () => Promise<unknown>, limitMs: number): Promise<{ error: StorageError; ms: number }> {
  const start = Date.now()
  const error = await op().then(
    (value) => new Error(`expected a StorageError, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  )
  const ms = Date.now() - start
  expect(error).toBeInstanceOf(StorageError)
  expect(ms).toBeLessThanOrEqual(limitMs)
  return { error: error as StorageError, ms }
}

const everyOp = (storage: AsyncStorage, ns: string): Array<[string, () => Promise<unknown>]> => [
  ['get', () => storage.get(ns, 'k')],
  ['set', () => storage.set(ns, 'k', 'v', { ttl: 60_000 })],
  ['add', () => (storage.add as NonNullable<AsyncStorage['add']>)(ns, 'k2', 'v')],
  ['delete', () => storage.delete(ns, 'k')],
  ['clear', () => storage.clear(ns)],
  ['clear', () => storage.clear(ns, 'fn:')],
]

/** Retries `op` until it resolves, for up to `ms` (a client reconnecting after a restart). */
async function eventually<T>(op: () => Promise<T>, ms: number): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    try {
      return await op()
    } catch (error) {
      if (Date.now() > end) throw error
      await sleep(100)
    }
  }
}

describe.each(adapters)('memcached faults via $name', (adapter) => {
  it('fails every operation with a StorageError within operationTimeoutMs when nothing listens', async () => {
    expect(await isListening(DEAD_PORT)).toBe(false)
    const made = adapter.make(`127.0.0.1:${DEAD_PORT}`)
    try {
      const storage = memcachedStorage({ client: made.client, prefix: `mk-${rand()}`, operationTimeoutMs: TIMEOUT_MS })
      for (const [op, run] of everyOp(storage, `ns-${rand()}`)) {
        const { error } = await failsWithin(run, TIMEOUT_MS + SLACK_MS)
        expect(error).toMatchObject({ storage: 'memcached', op, code: 'E_STORAGE' })
      }
    } finally {
      made.close()
    }
  }, 20_000)

  it('through cacheValue: a dead server costs at most the timeout per call, and onError is told', async () => {
    const made = adapter.make(`127.0.0.1:${DEAD_PORT}`)
    try {
      const storage = memcachedStorage({ client: made.client, prefix: `mk-${rand()}`, operationTimeoutMs: TIMEOUT_MS })
      const reports: ErrorReport[] = []
      const double = cacheValue(async (n: number) => n * 2, {
        storage,
        name: `double-${rand()}`,
        onError: (r) => reports.push(r),
      })
      const start = Date.now()
      expect(await double(21)).toBe(42)
      expect(Date.now() - start).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS)
      expect(reports[0]).toMatchObject({ op: 'get', storage: 'memcached' })
      expect(reports[0]?.error).toBeInstanceOf(StorageError)
    } finally {
      made.close()
    }
  }, 20_000)

  it('times out on a hung server (SIGSTOP) and works again once it resumes', async () => {
    const made = adapter.make(server.address)
    const storage = memcachedStorage({ client: made.client, prefix: `mk-${rand()}`, operationTimeoutMs: TIMEOUT_MS })
    const ns = `ns-${rand()}`
    try {
      await storage.set(ns, 'k', 'before')
      await freeze(server.pid)
      try {
        for (const [op, run] of everyOp(storage, ns)) {
          const { error, ms } = await failsWithin(run, TIMEOUT_MS + SLACK_MS)
          expect(error.op).toBe(op)
          expect(error.message).toMatch(/timed out after 400 ms/)
          expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5)
        }
      } finally {
        process.kill(server.pid, 'SIGCONT')
      }
      // The commands sent while it hung are answered late (and dropped); new ones work again.
      await eventually(() => storage.set(ns, 'k2', 'after'), 5000)
      expect((await storage.get(ns, 'k2'))?.value).toBe('after')
    } finally {
      made.close()
    }
  }, 30_000)

  it('fails fast while memcached is killed mid-run, and recovers after a restart', async () => {
    const made = adapter.make(server.address)
    const storage = memcachedStorage({ client: made.client, prefix: `mk-${rand()}`, operationTimeoutMs: TIMEOUT_MS })
    const ns = `ns-${rand()}`
    try {
      await storage.set(ns, 'k', 'before the crash')
      // Operations in flight when the server dies (it is stopped first, so they are surely unanswered):
      // each settles in time, with a StorageError.
      await freeze(server.pid)
      const start = Date.now()
      const inFlight = Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? storage.get(ns, 'k') : storage.set(ns, `k${i}`, i)).then(
          () => 'ok',
          (e: unknown) => e,
        ),
      )
      await sleep(50)
      await server.stop('SIGKILL')
      const outcomes = await Promise.all(inFlight)
      expect(Date.now() - start).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS + 1000) // stop() waits for the port too
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(StorageError)
      // Down: every operation fails within the timeout.
      for (const [op, run] of everyOp(storage, ns)) {
        const { error } = await failsWithin(run, TIMEOUT_MS + SLACK_MS)
        expect(error.op).toBe(op)
      }
      server = await startMemcached(PORT)
      // Back: the client reconnects; the new server is empty, so the old entry is a miss, not an error.
      expect(await eventually(() => storage.get(ns, 'k'), 5000)).toBeUndefined()
      await storage.set(ns, 'k', 'after the restart')
      expect((await storage.get(ns, 'k'))?.value).toBe('after the restart')
    } finally {
      made.close()
    }
  }, 30_000)
})
