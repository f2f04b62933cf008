/**
 * The workload's cached functions, built the same way by every worker (which calls them) and by the writer (which
 * only invalidates them), so both address the same entries. Each reads the truth version of its key and returns
 * it with the id of the run that read it, so the checker can tell where every returned value came from.
 */
import { type AsyncStorage, cacheClear, cacheValue } from '@memokit/core'
import type { ChildConfig } from './config'
import type { Truth } from './truth'

/** What every workload function returns: the key, the truth version `fn` read, and the run's id. */
export interface Value {
  readonly k: number
  readonly v: number
  readonly r: string
}

/** One run of `fn`: when it started, when its truth read returned (ms since the epoch), when it ended. */
export interface Run {
  readonly f: FnName
  readonly k: number
  readonly r: string
  readonly v: number
  readonly s: number
  readonly t: number
  e: number
  /**
   * When this run's worker heard that the lease fence refused its result (`lease-lost`): over memcached, whose
   * fence is best-effort, the refused write may be read until then (check.ts, rule 4).
   */
  l?: number
}

/** The workload's functions: one per single-flight mode, one more with stale-while-revalidate. */
export type FnName = 'plain' | 'dist' | 'swr'
export const FN_NAMES: readonly FnName[] = ['plain', 'dist', 'swr']

/** The namespace each function's entries live in (two functions share one, so namespace clears hit both). */
export const NAMESPACES: Readonly<Record<FnName, string>> = { plain: 'soak-a', dist: 'soak-a', swr: 'soak-b' }

/** A workload function as a cached wrapper: the call plus the invalidations the writer uses. */
export interface Cached {
  (key: number): Promise<Value>
  delete(key: number): Promise<boolean>
  clear(): Promise<void>
}

/** The workload of one process over `storage`. */
export interface Workload {
  readonly fns: Readonly<Record<FnName, Cached>>
  /** Clears both namespaces (cacheClear); throws when the storage fails. */
  readonly clearAll: () => Promise<void>
  /** Every run of `fn` in this process so far. */
  readonly runs: Run[]
}

/** How long a worker skips the storage after its circuit breaker opened, ms. */
export const BREAKER_COOLDOWN_MS = 1000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Builds the workload. `fnMs()` gives each run's duration in ms. Invalidations throw on storage failures
 * (`failOpen` covers calls only), so the writer knows when one completed.
 */
export function workload(
  config: ChildConfig,
  storage: AsyncStorage,
  truth: Truth,
  fnMs: () => number,
  onError: (message: string) => void,
): Workload {
  const runs: Run[] = []
  let seq = 0
  const { ttlMs } = config.options
  const mode = config.distributed ? ('distributed' as const) : ('process' as const)
  const make = (f: FnName): Cached => {
    const compute = async (k: number): Promise<Value> => {
      const r = `${config.role}:${++seq}`
      const s = Date.now()
      const v = await truth.read(k)
      const run: Run = { f, k, r, v, s, t: Date.now(), e: 0 }
      runs.push(run)
      await sleep(fnMs())
      run.e = Date.now()
      return { k, v, r }
    }
    const options = {
      storage,
      name: f,
      namespace: NAMESPACES[f],
      ttl: ttlMs,
      // Back to the storage 1 s after it opened (default 5 s): a restarted server is used again within the run.
      circuitBreaker: { cooldownMs: BREAKER_COOLDOWN_MS },
      onError: (report: { op: string; error: Error }) => onError(`${f} ${report.op}: ${report.error.message}`),
      // Without lease members (or with them hidden) the option would be a ConfigError: results are then unfenced.
      ...(config.leases && f !== 'plain' ? { singleFlight: mode, lease: '1s' } : {}),
      ...(f === 'swr' ? { swr: ttlMs } : {}),
    }
    return cacheValue(compute, options as Parameters<typeof cacheValue>[1]) as unknown as Cached
  }
  const clearAll = cacheClear(async () => {}, {
    namespaces: [...new Set(Object.values(NAMESPACES))],
    storage,
    failOpen: false,
  }) as () => Promise<void>
  return { fns: { plain: make('plain'), dist: make('dist'), swr: make('swr') }, clearAll, runs }
}
