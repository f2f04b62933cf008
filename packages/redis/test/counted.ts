import { randomBytes } from 'node:crypto'
import { type CircuitBreakerOptions, cacheValue, type ErrorReport } from '@memokit/core'
import type { RedisStorage } from '@memokit/redis'

/** A random name part, so tests never share keys on a server. */
export const uid = (label: string): string => `${label}-${randomBytes(5).toString('hex')}`

/**
 * A cached function whose true result is known (`value-<x>`), in a namespace of its own, counting how often it
 * really ran and collecting what onError was told.
 */
export function counted(
  storage: RedisStorage,
  options: {
    readonly name: string
    readonly circuitBreaker: CircuitBreakerOptions | false
    /** Default: a random one. */
    readonly namespace?: string
  },
) {
  const state = { calls: 0, reports: [] as ErrorReport[] }
  const fn = cacheValue(
    async (x: number) => {
      state.calls++
      return `value-${x}`
    },
    {
      storage,
      ttl: 60_000,
      namespace: options.namespace ?? uid('ns'),
      name: options.name,
      onError: (report) => state.reports.push(report),
      circuitBreaker: options.circuitBreaker,
    },
  )
  return { fn, state }
}

/** Runs `work` and measures it: how long it took (ms) and what it returned or threw. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T | undefined; error: unknown }> {
  const start = performance.now()
  try {
    const result = await work()
    return { ms: performance.now() - start, result, error: undefined }
  } catch (error) {
    return { ms: performance.now() - start, result: undefined, error }
  }
}

/**
 * `timed(work)`, with how late a reference timer of `timeoutMs`, started at the same instant, fired (0 if `work` was
 * over first). A starved process (CI's lanes share two cores) delays the storage's timeout and that timer alike, so
 * `ms - stallMs` is the time the storage took that the stall doesn't explain: what a "within the timeout" bound checks.
 */
export async function timedAgainstTimer<T>(
  work: () => Promise<T>,
  timeoutMs: number,
): Promise<{ ms: number; result: T | undefined; error: unknown; stallMs: number }> {
  const start = performance.now()
  let fired: number | undefined
  const reference = setTimeout(() => {
    fired = performance.now()
  }, timeoutMs)
  const outcome = await timed(work)
  clearTimeout(reference)
  return { ...outcome, stallMs: fired === undefined ? 0 : Math.max(0, fired - start - timeoutMs) }
}
