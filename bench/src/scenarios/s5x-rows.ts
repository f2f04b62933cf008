// What S5X (s5x.ts) and its worker processes (../s5x-worker.ts) share: the rows, built inside every worker (memokit
// with process-local and with distributed single-flight, and the peers over Redis as R1 sets them up, all sharing
// the run's key prefix across processes), and the messages between them.
import { loadMemokit, loadMemokitRedis } from '../memokit'
import {
  acdRedis,
  bentoRedisL2,
  cacheManagerRedis,
  cachifiedRedis,
  fetchValue,
  type Instance,
  type Make,
  TTL_MS,
} from '../redis-common'

/** One row of S5X: how one process sets up its instance. */
export interface S5xRow {
  readonly name: string
  readonly note: string
  /** The row that must run `fn` once in total across the processes (issue 10, section 5). */
  readonly once?: boolean
  readonly make: Make
}

/** The distributed row's options: issue 10's defaults, spelled out. */
export const DISTRIBUTED = { singleFlight: 'distributed', lease: '10s', waitTimeout: '5s' } as const

type Closable = { close?: () => Promise<void> }

async function memokitRows(prefix: string): Promise<S5xRow[]> {
  const [mk, mr] = await Promise.all([loadMemokit(), loadMemokitRedis()])
  const { cacheValue } = mk
  const { redisStorage } = mr
  // A row that can't be made says why when the worker makes it (the scenario prints it as skipped).
  const fail =
    (why: string | undefined): Make =>
    async () =>
      Promise.reject(new Error(why))
  const row = (tag: string, options: object): Make => {
    if (!cacheValue) return fail(mk.reason)
    if (!redisStorage) return fail(mr.reason)
    return async (url, load = fetchValue) => {
      const storage = redisStorage({ url, prefix: `${prefix}-${tag}` }) as Closable
      try {
        const call = cacheValue(load, { storage, name: 'bench.s5x', ttl: TTL_MS, ...options }) as Instance['call']
        return { call, close: async () => storage.close?.() }
      } catch (error) {
        await storage.close?.()
        throw error
      }
    }
  }
  return [
    {
      name: 'memokit, singleFlight: distributed',
      note: `cacheValue + redisStorage, lease ${DISTRIBUTED.lease}, waitTimeout ${DISTRIBUTED.waitTimeout}`,
      once: true,
      make: row('md', DISTRIBUTED),
    },
    {
      name: 'memokit, process single-flight',
      note: 'cacheValue + redisStorage, singleFlight default (process)',
      make: row('mk', {}),
    },
  ]
}

/** Every row, keys under `prefix` (the same in every process, so the processes share their entries). */
export async function s5xRows(prefix: string): Promise<S5xRow[]> {
  return [
    ...(await memokitRows(prefix)),
    { name: 'async-cache-dedupe', note: 'redis storage over ioredis', make: acdRedis(prefix, TTL_MS) },
    { name: 'cache-manager', note: 'wrap, Keyv + @keyv/redis (node-redis)', make: cacheManagerRedis(prefix, TTL_MS) },
    { name: 'cachified', note: 'minimal node-redis adapter, as in R1', make: cachifiedRedis(prefix, TTL_MS) },
    {
      name: 'bentocache',
      note: 'getOrSet, redis L2 only (ioredis), as in R1',
      make: bentoRedisL2(`${prefix}-bento`, TTL_MS),
    },
  ]
}

/** How long the cached function takes, ms (a timer: no CPU). */
export const WORK_MS = 20

/** The scenario's requests; a worker answers each with one `FromWorker`. */
export type ToWorker =
  | { readonly type: 'init'; readonly url: string; readonly prefix: string }
  /** One call on a key nobody has used: the no-contention latency. */
  | { readonly type: 'miss'; readonly row: string; readonly key: number }
  /** `calls` concurrent calls on `key`, started at the wall-clock time `at` (ms since the epoch). */
  | {
      readonly type: 'stampede'
      readonly row: string
      readonly key: number
      readonly calls: number
      readonly at: number
    }
  | { readonly type: 'close' }

/** What a worker's share of a request produced. */
export interface Outcome {
  /** Runs of the cached function in this process for the key. */
  readonly runs: number
  /** When this process started its calls, ms since the epoch (fractional: performance.timeOrigin + now()). */
  readonly started: number
  /** Each call's time from call to answer, ms; NaN for a call that failed. */
  readonly latencies: readonly number[]
  /** The distinct computations whose values the calls received (`by` of the value). */
  readonly values: readonly string[]
  /** Calls that failed or returned a value for another key. */
  readonly wrong: number
  readonly errors: readonly string[]
}

/** A worker's answers: its rows after `init`, an `Outcome` after `miss` or `stampede`, or what failed. */
export type FromWorker =
  | { readonly type: 'ready'; readonly rows: readonly string[]; readonly skipped: readonly string[] }
  | ({ readonly type: 'outcome' } & Outcome)
  | { readonly type: 'failed'; readonly error: string }
