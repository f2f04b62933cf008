// Single-flight and invalidation across replicas that are separate processes (fixtures/flight-replica.ts) on one
// Redis: with singleFlight 'distributed', 5 processes x 50 concurrent calls on a cold key run fn once in total and
// the waiting processes poll only a few times; a holder SIGKILLed mid-fn is taken over by exactly one waiter
// within the lease plus 1 s; a fn longer than its lease keeps it (extension); and in both modes a delete, a
// function clear or a cacheClear on one replica keeps another replica's overtaken computation out of the cache.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createClient } from 'redis'
import { uid } from './counted'
import { envPort, type RedisProcess, sharedRedis, startRedisServer } from './servers'

const repoRoot = join(__dirname, '..', '..', '..')
const script = join(__dirname, 'fixtures', 'flight-replica.ts')

interface CallsResult {
  readonly values: string[]
  readonly errors: string[]
  readonly reads: number
  readonly ms: number
}
interface Status {
  readonly reads: number
  readonly events: string[]
  readonly unhandled: string[]
}
interface OpenOptions {
  readonly fnMs: number
  readonly fnStepMs?: number
  readonly singleFlight?: 'process' | 'distributed'
  readonly lease?: string
  readonly waitTimeout?: string
}

/** A replica process and its command channel. */
interface Replica {
  readonly pid: number
  open(run: Run, options: OpenOptions): Promise<void>
  call(x: number, count?: number): Promise<CallsResult>
  send(cmd: string, fields?: Record<string, unknown>): Promise<unknown>
  status(): Promise<Status>
  kill(): Promise<void>
  exit(): Promise<void>
}

async function startReplica(): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const w of waiting.values()) w.reject(new Error(`replica exited (${code ?? signal}): ${stderr}`))
      resolve()
    })
  })
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const reply = JSON.parse(line) as { id: number; result?: unknown; error?: string }
    const w = waiting.get(reply.id)
    waiting.delete(reply.id)
    if (reply.error !== undefined) w?.reject(new Error(reply.error))
    else w?.resolve(reply.result)
  })
  let next = 0
  const send = (cmd: string, fields = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = ++next
      waiting.set(id, { resolve, reject })
      child.stdin?.write(`${JSON.stringify({ id, cmd, ...fields })}\n`)
    })
  const pid = (await new Promise<unknown>((resolve, reject) => waiting.set(0, { resolve, reject }))) as number
  return {
    pid,
    open: (run, options) =>
      send('open', { url: run.url, prefix: run.prefix, namespace: run.namespace, ...options }) as Promise<void>,
    call: (x, count = 1) => send('call', { x, count }) as Promise<CallsResult>,
    send,
    status: () => send('status') as Promise<Status>,
    async kill() {
      child.kill('SIGKILL')
      await exited
    },
    async exit() {
      if (child.exitCode !== null || child.signalCode !== null) return
      await send('exit').catch(() => {})
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(killer)
    },
  }
}

/** One test's keys: a fresh prefix and namespace, and the run counter the replicas' fn increments there. */
interface Run {
  readonly url: string
  readonly prefix: string
  readonly namespace: string
  /** How many times fn ran so far, in every process. */
  runs(): Promise<number>
  /** Each run: the process that ran it and when it started (ms since the epoch). */
  started(): Promise<{ pid: number; run: number; at: number }[]>
  /** Each run that returned: the process that ran it and when `fn` returned (its write follows). */
  ended(): Promise<{ pid: number; run: number; at: number }[]>
}

let shared: { url: string; stop(): Promise<void> }
let redis: ReturnType<typeof createClient>
let pool: Replica[] = []
const extra: Replica[] = []

beforeAll(async () => {
  shared = await sharedRedis(envPort('SINGLE_FLIGHT_REDIS_PORT', 7420))
  redis = createClient({ url: shared.url })
  await redis.connect()
  // Five processes serve every test (starting one takes seconds on a busy machine); each test opens fresh state.
  pool = await Promise.all(Array.from({ length: 5 }, () => startReplica()))
}, 120_000)
afterAll(async () => {
  await Promise.all([...pool, ...extra].map((r) => r.exit()))
  await redis?.close()
  await shared?.stop()
}, 30_000)

function newRun(url = shared.url, client = redis): Run {
  const prefix = uid('memokit-flight')
  const list = async (name: string) =>
    (await client.lRange(`${prefix}:runs:${name}`, 0, -1)).map((line) => {
      const [pid, run, at] = line.split(' ').map(Number) as [number, number, number]
      return { pid, run, at }
    })
  return {
    url,
    prefix,
    namespace: uid('ns'),
    runs: async () => Number((await client.get(`${prefix}:runs`)) ?? 0),
    started: () => list('started'),
    ended: () => list('ended'),
  }
}

/**
 * Waits until fn has run `count` times in total (or 10 s passed), its starts recorded: a replica counts a run (INCR)
 * and records its start (RPUSH) in two round trips, and on a loaded machine a test that waited for the count alone
 * read `started()` in between and found the run missing.
 */
async function runsReach(run: Run, count: number): Promise<void> {
  const deadline = Date.now() + 10_000
  while ((await run.started()).length < count) {
    if (Date.now() > deadline) throw new Error(`fn did not run ${count} times within 10 s`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const distinct = (values: readonly string[]) => [...new Set(values)]

describe("singleFlight: 'distributed' across processes", () => {
  it('5 processes x 50 concurrent calls on a cold key, fn 200 ms: fn runs once, every caller gets its value', async () => {
    const run = newRun()
    await Promise.all(pool.map((r) => r.open(run, { fnMs: 200, singleFlight: 'distributed' })))
    const results = await Promise.all(pool.map((r) => r.call(1, 50)))
    expect(await run.runs()).toBe(1)
    expect(results.flatMap((r) => r.errors)).toEqual([])
    const values = results.flatMap((r) => r.values)
    expect(values).toHaveLength(250)
    expect(distinct(values)).toEqual(['value-1-run-1'])
    // One poller per process, with backoff: a few reads each while the 200 ms computation runs elsewhere.
    for (const r of results) expect(r.reads).toBeLessThanOrEqual(10)
    const statuses = await Promise.all(pool.map((r) => r.status()))
    expect(statuses.filter((s) => s.events.includes('lease-acquired'))).toHaveLength(1)
    for (const s of statuses) expect(s.unhandled).toEqual([])
  })

  it('a fn longer than its lease (lease 300 ms, fn 1.2 s) keeps it: no second run starts anywhere', async () => {
    const run = newRun()
    await Promise.all(pool.map((r) => r.open(run, { fnMs: 1200, singleFlight: 'distributed', lease: '300ms' })))
    const results = await Promise.all(pool.map((r) => r.call(2, 10)))
    expect(await run.runs()).toBe(1)
    expect(results.flatMap((r) => r.errors)).toEqual([])
    expect(distinct(results.flatMap((r) => r.values))).toEqual(['value-2-run-1'])
    const statuses = await Promise.all(pool.map((r) => r.status()))
    expect(statuses.flatMap((s) => s.events).filter((e) => e === 'lease-lost' || e === 'lease-wait-timeout')).toEqual(
      [],
    )
  })

  it('the holder SIGKILLed mid-fn: exactly one waiter takes over within the lease + 1 s, the others get its value', async () => {
    const run = newRun()
    const holder = await startReplica()
    extra.push(holder)
    const waiters = pool.slice(0, 4)
    const options: OpenOptions = { fnMs: 1500, singleFlight: 'distributed', lease: '1s', waitTimeout: '10s' }
    await Promise.all([holder, ...waiters].map((r) => r.open(run, options)))
    holder.call(3, 10).catch(() => {})
    await runsReach(run, 1)
    const waiting = Promise.all(waiters.map((r) => r.call(3, 50)))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const killed = Date.now()
    await holder.kill()
    const results = await waiting
    expect(results.flatMap((r) => r.errors)).toEqual([])
    expect(distinct(results.flatMap((r) => r.values))).toEqual(['value-3-run-2'])
    const started = await run.started()
    expect(started.map((s) => s.run)).toEqual([1, 2])
    expect(started[0]?.pid).toBe(holder.pid)
    expect(waiters.map((w) => w.pid)).toContain(started[1]?.pid)
    // The lease (1 s) lapses at most 1 s after the kill; a waiter's next poll takes it within another second.
    expect((started[1]?.at as number) - killed).toBeLessThanOrEqual(2000)
  }, 30_000)
})

describe('an invalidation on one replica keeps a computation overtaken on another out of the cache', () => {
  const cases = (['process', 'distributed'] as const).flatMap((mode) =>
    (['delete', 'clear', 'cacheClear'] as const).map((how) => [mode, how] as const),
  )
  it.each(cases)("singleFlight '%s': B's %s while A computes", async (mode, how) => {
    const run = newRun()
    const [a, b] = pool as [Replica, Replica]
    await Promise.all([a, b].map((r) => r.open(run, { fnMs: 600, singleFlight: mode })))
    const computing = a.call(4)
    await runsReach(run, 1)
    await b.send(how, { x: 4 })
    // A's own caller still gets what it computed...
    expect((await computing).values).toEqual(['value-4-run-1'])
    // ...but it was not stored: B computes anew, and A then reads B's value.
    expect((await b.call(4)).values).toEqual(['value-4-run-2'])
    expect((await a.call(4)).values).toEqual(['value-4-run-2'])
    expect(await run.runs()).toBe(2)
    expect((await a.status()).events).toContain('lease-lost')
  })
})

describe(".refresh() while another replica holds the key's lease", () => {
  it.each(['process', 'distributed'] as const)(
    "singleFlight '%s': waits for it, then stores through its own lease, so C's delete during its fn keeps it out",
    async (mode) => {
      const run = newRun()
      const [a, b, c] = pool as [Replica, Replica, Replica]
      await Promise.all([a, b, c].map((r) => r.open(run, { fnMs: 400, singleFlight: mode })))
      const computing = a.call(5)
      await runsReach(run, 1)
      const refreshed = b.send('refresh', { x: 5 })
      await runsReach(run, 2)
      const [first, second] = await run.started()
      // The refresh's fn started only after A's had ended (and stored): it waited for A's lease.
      const firstEnded = (await run.ended())[0]
      expect(firstEnded?.pid).toBe(first?.pid)
      expect(second?.at).toBeGreaterThanOrEqual(firstEnded?.at as number)
      await c.send('delete', { x: 5 })
      expect(await refreshed).toBe('value-5-run-2')
      expect((await computing).values).toEqual(['value-5-run-1'])
      // Neither A's value (deleted) nor the refresh's (its write came after the delete) is stored.
      expect((await a.call(5)).values).toEqual(['value-5-run-3'])
    },
  )
})

describe('a clear that many fenced writes race (own server, a keyspace big enough for hundreds of SCAN steps)', () => {
  const KEYS = 40
  let server: RedisProcess
  let client: ReturnType<typeof createClient>
  beforeAll(async () => {
    server = await startRedisServer(envPort('SINGLE_FLIGHT_CLEAR_PORT', 7421), ['--enable-debug-command', 'local'])
    client = createClient({ url: server.url })
    await client.connect()
    // Keys of no namespace of ours: the clear's SCAN walks them all (1000 per step), which spreads it over time.
    await client.sendCommand(['DEBUG', 'POPULATE', '300000', 'filler'])
  }, 60_000)
  afterAll(async () => {
    await client?.close()
    await server?.stop()
  })

  it.each(['process', 'distributed'] as const)(
    "singleFlight '%s': no result whose lease was held when the clear started survives it",
    async (mode) => {
      const run = newRun(server.url, client)
      const [a, b] = pool as [Replica, Replica]
      // How long a clear takes here, so A's 40 writes can be spread over one: fn(x) takes 30 ms + x steps. Each
      // write that lands mid-clear survives a one-pass clear with a chance of about 1/6 (the entry's key already
      // walked past, its lease's not yet): with 40, some do on almost every run; with a correct clear, none ever.
      // The median of three clears: a single one, timed on a loaded runner, once spread the writes over a clear
      // twice as long as the one they then raced (14 of 40 landed inside it).
      await b.open(run, { fnMs: 0 })
      const took: number[] = []
      for (let i = 0; i < 3; i++) {
        const started = Date.now()
        await b.send('cacheClear')
        took.push(Date.now() - started)
      }
      const clearMs = took.sort((x, y) => x - y)[1] as number
      const stepMs = Math.max(2, Math.round((clearMs * 0.8) / KEYS))
      await Promise.all([a, b].map((r) => r.open(run, { fnMs: 30, fnStepMs: stepMs, singleFlight: mode })))
      const computing = a.send('eachKey', { count: KEYS }) as Promise<string[]>
      await runsReach(run, KEYS)
      const clearStart = Date.now()
      await b.send('cacheClear')
      const clearEnd = Date.now()
      expect(await computing).toEqual(Array.from({ length: KEYS }, () => expect.stringMatching(/^value-\d+-run-\d+$/)))
      const ends = (await run.ended()).map((e) => e.at)
      // The race took place: most of A's computations returned (and wrote) while the clear ran.
      expect(ends.filter((at) => at >= clearStart && at <= clearEnd).length).toBeGreaterThanOrEqual(KEYS / 2)
      // Every computation held its lease when the clear started (its run began before), so none may be stored.
      const after = (await b.send('eachKey', { count: KEYS })) as string[]
      const survivors = after.filter((value) => Number(value.split('-run-')[1]) <= KEYS)
      expect(survivors).toEqual([])
    },
    30_000,
  )
})
