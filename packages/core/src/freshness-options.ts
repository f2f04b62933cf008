import type { Duration, DurationUnit } from './duration'

/** A duration, or a function of the result giving one (`false`: see the option). */
export type PerResultDuration<Result> = Duration | ((value: Awaited<Result>) => Duration | false)

/**
 * The options of `cacheValue` that decide when a value is served: the freshness timeline (docs/serving-stale.md),
 * measured from the end of freshness:
 * `createdAt → ttl (fresh) → staleAt → swr window`, and `staleAt → staleIfError window`.
 */
export interface FreshnessOptions<Result = unknown> {
  /**
   * How long a result stays fresh: milliseconds, or a {@link Duration} string like `'500ms'`, `'30s'`, `'5m'`,
   * `'1.5h'`, `'1d'`; or a function of the result (`false` from it: don't store this result), e.g. negative
   * caching: `ttl: (user) => (user == null ? '30s' : '10m')`. Default: no expiry. Without `swr` and
   * `staleIfError` the entry is dropped when it stops being fresh.
   */
  readonly ttl?: PerResultDuration<Result>
  /**
   * Stale-while-revalidate window after `ttl`: a call in it gets the stale value at once and starts one background
   * refresh per key (a sync `fn` over a sync storage stays sync; the refresh runs after the current call stack).
   * A failed refresh keeps the old entry and goes to `onError`. Needs `ttl`. Default: off.
   * @example swr: '1m'
   */
  readonly swr?: PerResultDuration<Result>
  /**
   * Stale-if-error window after `ttl`: when `fn` throws or times out, a value in this window is returned instead,
   * the error goes to `onError`, and `fn` is not tried again for that key before `errorBackoff`. Past the window
   * callers get `fn`'s own error. Needs `ttl`. Default: off.
   * @example staleIfError: '1h'
   */
  readonly staleIfError?: PerResultDuration<Result>
  /** After a failure served stale, how long calls keep getting the stale value without running `fn`. Default: `'10s'`. */
  readonly errorBackoff?: Duration
  /**
   * `soft`: with a usable stale value, callers get it after this long while `fn` finishes and stores behind.
   * `hard`: callers are freed after this long with a `TimeoutError` (or the stale value within `staleIfError`),
   * and the computation's AbortSignal (`computeContext().signal`) aborts. Default: none.
   * A stale value is served only while it is inside its `staleIfError` window at the time it is served. A call
   * arriving while a computation runs on after its callers were answered waits for that computation (no second
   * `fn`), with `soft` and `hard` counted from its own arrival.
   * @example timeout: { soft: '200ms', hard: '5s' }
   */
  readonly timeout?: { readonly soft?: Duration; readonly hard?: Duration }
  /**
   * Random delay in `[0, jitter]` added to each entry's `staleAt` (and so its expiry), so keys written together
   * don't expire together: a percentage of `ttl` (`'10%'`) or a duration. Needs `ttl`. Default: none.
   */
  readonly jitter?: `${number}%` | Duration
  /**
   * Refresh a hot key before it goes stale: a fraction of `ttl` between 0 and 1 (`0.8`: after 80% of it) or a
   * duration string before `staleAt` (`'30s'`); a number is always a fraction, never milliseconds. A fresh hit past
   * that point returns at once and starts one background refresh. Needs `ttl`. Default: off.
   */
  readonly refreshAhead?: number | `${number}${DurationUnit}`
  /** The random source for `jitter` and the circuit breaker's cooldown jitter, uniform in [0, 1). Default: `Math.random`. */
  readonly random?: () => number
}
