// The checks faults.test.ts (a storage built from a URL) and ioredis-faults.test.ts (the user's ioredis client) both
// make of a server that is down, killed and restarted, or hung: the same promises, whichever client is underneath.
import { afterAll, expect } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { counted as countedFn, timed, timedAgainstTimer } from './counted'
import { disposer, envPort, type RedisProcess, startRedisServer, until } from './servers'

/** operationTimeoutMs of the storages under test. */
export const TIMEOUT = 300
/** Scheduling slack on a busy 2-core machine. */
export const MARGIN = 400
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The first of the spare ports the fault tests start their servers on (each file its own offsets). */
export const BASE = envPort('REDIS_SPARE_PORT', 7200)

export interface FaultFixtures {
  readonly track: ReturnType<typeof disposer>['track']
  open(options: RedisStorageOptions): RedisStorage
  /** A server of our own on `port`, stopped after the file's tests. */
  startServer(port: number): Promise<RedisProcess>
}

/**
 * What a fault test file opens, all closed after its tests: storages (`open`), what it `track`s (a client), then
 * `closeFirst` (the user's clients), then the servers it started.
 */
export function faultFixtures(closeFirst?: () => Promise<void>): FaultFixtures {
  const cleanup = disposer()
  const servers: RedisProcess[] = []
  afterAll(async () => {
    await cleanup.disposeAll()
    await closeFirst?.()
    await Promise.all(servers.map((s) => s.stop()))
  }, 60_000)
  return {
    track: cleanup.track,
    open: (options) => cleanup.track(redisStorage(options)),
    startServer: async (port) => {
      const server = await startRedisServer(port)
      servers.push(server)
      return server
    },
  }
}

// A starved process delays the storage's timeout and a reference timer alike: bounds subtract the stall.
const timedAgainstTimeout = <T>(work: () => Promise<T>) => timedAgainstTimer(work, TIMEOUT)

/** A counted function with a short cooldown, so the tests also show the breaker probing again and caching resuming. */
export const counted = (storage: RedisStorage) =>
  countedFn(storage, { name: 'double', circuitBreaker: { failures: 5, cooldownMs: 200 } })

/** On a server that is down from the start: calls fail fast (not after the timeout), cached functions still answer. */
export async function expectFailsFastWhenDown(storage: RedisStorage): Promise<void> {
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
}

/**
 * Resolves once `storage` answers a read (within 10 s). A first connect, with a ready check, can outlast a 300 ms
 * operation timeout on a loaded machine: the calls made meanwhile fail open and store nothing.
 */
function answering(storage: RedisStorage): Promise<void> {
  return until('the storage to answer a read', () => storage.get('ns', 'warm-up').then(() => true), 10_000)
}

/**
 * Caches through `storage` once it answers, kills `server` (SIGKILL): calls keep returning correct values within the
 * timeout and the breaker opens; restarts it: caching resumes within 3 s (printed with `label`).
 */
export async function expectKillThenResume(server: RedisProcess, storage: RedisStorage, label: string): Promise<void> {
  await answering(storage)
  const { fn, state } = counted(storage)
  for (let x = 0; x < 10; x++) expect(await fn(x)).toBe(`value-${x}`)
  for (let x = 0; x < 10; x++) expect(await fn(x)).toBe(`value-${x}`)
  expect(state.calls).toBe(10)

  server.signal('SIGKILL')
  await server.exited()
  const direct = await timedAgainstTimeout(() => storage.get('ns', 'k'))
  expect(direct.error).toBeInstanceOf(StorageError)
  expect(direct.ms - direct.stallMs).toBeLessThan(TIMEOUT + MARGIN)
  let slowest = 0
  for (let i = 0; i < 30; i++) {
    const x = i % 10
    const call = await timedAgainstTimeout(() => fn(x))
    expect(call.error).toBeUndefined()
    expect(call.result).toBe(`value-${x}`)
    slowest = Math.max(slowest, call.ms - call.stallMs)
  }
  // A read fails at once (no offline queue) or at worst after its timeout; a failed read skips the write.
  expect(slowest).toBeLessThan(TIMEOUT + MARGIN)
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
  process.stdout.write(`${label}: caching resumed ${Math.round(resumedAfter)} ms after restart\n`)
}

/**
 * Sets `ns`/`k` to `value` until a set succeeds (within 5 s; with `boundEachAttempt`, each failed attempt within
 * the timeout too), then reads it back.
 */
export async function expectWritableSoon(
  storage: RedisStorage,
  value: unknown,
  { boundEachAttempt }: { readonly boundEachAttempt: boolean },
): Promise<void> {
  const start = performance.now()
  for (;;) {
    const attempt = await timedAgainstTimeout(() => storage.set('ns', 'k', value))
    if (attempt.error === undefined) break
    if (boundEachAttempt) expect(attempt.ms - attempt.stallMs).toBeLessThan(TIMEOUT + MARGIN)
    expect(performance.now() - start).toBeLessThan(5000)
    await sleep(50)
  }
  expect((await storage.get('ns', 'k'))?.value).toBe(value)
}

/**
 * On a hung server: every kind of operation fails with a StorageError whose message contains `timedOut`, after the
 * timeout and within it plus the margin; a cached function fails open within the timeout, asking the server once.
 */
export async function expectHungServerBounds(
  storage: RedisStorage,
  { fn, state }: ReturnType<typeof counted>,
  timedOut: string,
): Promise<void> {
  const ops: (() => Promise<unknown>)[] = [
    () => storage.get('ns', 'a'),
    () => storage.set('ns', 'b', 'B'),
    () => storage.add('ns', 'c', 'C'),
    () => storage.delete('ns', 'a'),
    () => storage.clear('other'),
  ]
  for (const op of ops) {
    const result = await timedAgainstTimeout(op)
    expect(result.error).toBeInstanceOf(StorageError)
    expect((result.error as Error).message).toContain(timedOut)
    expect(result.ms).toBeGreaterThanOrEqual(TIMEOUT - 20)
    expect(result.ms - result.stallMs).toBeLessThan(TIMEOUT + MARGIN)
  }
  // cacheValue fails open: its read waits at most the timeout, and a failed read skips the write.
  const call = await timedAgainstTimeout(() => fn(2))
  expect(call.result).toBe('value-2')
  expect(call.ms - call.stallMs).toBeLessThan(TIMEOUT + MARGIN)
  expect(state.reports.map((r) => r.op)).toEqual(['get'])
}

/** After a hang: the late replies of the timed-out commands are dropped; new commands get their own replies. */
export async function expectOwnReplies(storage: RedisStorage): Promise<void> {
  await storage.set('ns', 'x', 'X')
  await storage.set('ns', 'y', 'Y')
  const [x, y] = await Promise.all([storage.get('ns', 'x'), storage.get('ns', 'y')])
  expect(x?.value).toBe('X')
  expect(y?.value).toBe('Y')
}

/** `server` is hung (SIGSTOP) while `storage` connects: its first calls fail within the timeout. Resumes it after. */
export async function expectBoundedWhileConnecting(server: RedisProcess, storage: RedisStorage): Promise<void> {
  try {
    const first = await timedAgainstTimeout(() => storage.set('ns', 'k', 1))
    expect(first.error).toBeInstanceOf(StorageError)
    expect(first.ms - first.stallMs).toBeLessThan(TIMEOUT + MARGIN)
    const second = await timedAgainstTimeout(() => storage.get('ns', 'k'))
    expect(second.error).toBeInstanceOf(StorageError)
    expect(second.ms - second.stallMs).toBeLessThan(TIMEOUT + MARGIN)
  } finally {
    server.signal('SIGCONT')
  }
}
