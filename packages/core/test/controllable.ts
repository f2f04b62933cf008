// A function whose runs the test settles on demand, and a fake clock, for the freshness tests: what a slow or
// failing backend does, made deterministic.
import { expect, jest } from '@jest/globals'
import {
  type AnyStorage,
  type ComputeContext,
  cacheValue,
  computeContext,
  type ErrorReport,
  type memoryStorage,
} from '@memokit/core'

/** One run of a controllable function. */
export interface Run<R> {
  readonly args: unknown[]
  /** What `computeContext()` returned when the run started. */
  readonly context: ComputeContext | undefined
  settled: boolean
  resolve(value: R): void
  reject(error: unknown): void
}

export interface Controllable<R> {
  /** The function to wrap: returns a Promise that settles when the test says so. */
  readonly fn: (...args: unknown[]) => Promise<R>
  /** Every run so far, in order. */
  readonly runs: Run<R>[]
  /** Runs not settled yet. */
  readonly open: Run<R>[]
  /** Settles the oldest open run with `value`. */
  resolve(value: R): void
  /** Settles the oldest open run with `error`. */
  reject(error: unknown): void
  /** The last run. */
  last(): Run<R>
}

/**
 * A controllable async function. With `auto`, each run settles at once with what `auto(runIndex, args)` returns
 * (or rejects with what it throws); without, runs wait for `resolve`/`reject`.
 */
export function controllable<R = string>(auto?: (run: number, args: unknown[]) => R): Controllable<R> {
  const runs: Run<R>[] = []
  const oldestOpen = (): Run<R> => {
    const run = runs.find((r) => !r.settled)
    if (run === undefined) throw new Error('controllable: no open run to settle')
    return run
  }
  const fn = (...args: unknown[]): Promise<R> => {
    const context = computeContext()
    let res!: (value: R) => void
    let rej!: (error: unknown) => void
    const promise = new Promise<R>((resolve, reject) => {
      res = resolve
      rej = reject
    })
    const run: Run<R> = {
      args,
      context,
      settled: false,
      resolve(value) {
        run.settled = true
        res(value)
      },
      reject(error) {
        run.settled = true
        rej(error)
      },
    }
    runs.push(run)
    if (auto !== undefined) {
      try {
        run.resolve(auto(runs.length, args))
      } catch (error) {
        run.reject(error)
      }
    }
    return promise
  }
  return {
    fn,
    runs,
    get open() {
      return runs.filter((r) => !r.settled)
    },
    resolve: (value) => oldestOpen().resolve(value),
    reject: (error) => oldestOpen().reject(error),
    last: () => {
      const run = runs[runs.length - 1]
      if (run === undefined) throw new Error('controllable: no run yet')
      return run
    },
  }
}

/** The fake clock's start, ms since the epoch. */
export const T0 = 1_700_000_000_000

/**
 * Fake timers and Date starting at T0 (promise jobs stay real). Call in beforeEach; `useRealTimers` in afterEach.
 */
export function useFakeClock(): void {
  jest.useFakeTimers({ now: T0, doNotFake: ['nextTick', 'queueMicrotask'] })
}

/** Moves the fake clock on by `ms`, running the timers (and setImmediate callbacks) that fall due and promise jobs. */
export const tick = (ms = 0): Promise<void> => jest.advanceTimersByTimeAsync(ms)

/** Moves the fake clock to `T0 + ms`, running what falls due on the way. */
export const tickTo = (ms: number): Promise<void> => jest.advanceTimersByTimeAsync(T0 + ms - Date.now())

/** How a promise stands right now (after pending promise jobs ran). */
export async function stateOf(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending'
  promise.then(
    () => {
      state = 'resolved'
    },
    () => {
      state = 'rejected'
    },
  )
  for (let i = 0; i < 20; i++) await Promise.resolve()
  return state
}

/** A promise's outcome, captured so a rejection is never unhandled while the test moves the clock. */
export function capture<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )
}

/** A call at 1500 runs fn (it hangs) and is answered with the stale 'v1' at 1600, by the soft timeout of 100. */
export async function answeredAtSoftTimeout(cached: (key: string) => Promise<string>): Promise<void> {
  await tickTo(1500)
  const first = cached('k')
  await tick(100)
  await expect(first).resolves.toBe('v1')
}

/**
 * The timeline of the joiner tests (timeouts-joiners, adversarial-stale-joins): a cached `quote` over `storage` whose
 * first result 'v1' is written at T0 with ttl 1000 and staleIfError 1000; its next runs hang until the test settles
 * them. `reports` collects onError's reports, `stored` reads what the storage holds for 'k'.
 */
export async function primedQuote(storage: AnyStorage, timeout: { soft?: number; hard?: number }, namespace: string) {
  const c = controllable()
  const reports: ErrorReport[] = []
  const cached = cacheValue(c.fn, {
    storage: storage as ReturnType<typeof memoryStorage>,
    namespace,
    name: 'quote',
    ttl: 1000,
    staleIfError: 1000,
    timeout,
    onError: (report) => reports.push(report),
  })
  const first = cached('k')
  await tick(0)
  c.resolve('v1')
  await expect(first).resolves.toBe('v1')
  const stored = async (): Promise<unknown> => (await storage.get(namespace, cached.keyFor('k')))?.value
  return { c, cached, reports, stored }
}
