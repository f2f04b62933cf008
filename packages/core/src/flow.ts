/**
 * What happens after a read, written once for sync and async storages: classify the entry on its timeline, serve
 * it (refreshing behind when it asks for that), or compute, with the stale value in hand as the fallback for
 * errors and timeouts. Only the read differs between the two kinds of storage (cache-value.ts); from here on, a
 * sync `fn` over a sync storage stays synchronous and anything that returns a Promise goes through a Flight.
 */
import { type ComputeContext, runInContext } from './context'
import { TimeoutError } from './errors'
import { Flight } from './flight'
import { AHEAD, classify, FALLBACK, FRESH, STALE, writeTimes } from './freshness'
import type { Identity } from './identity'
import { MISS, WithMeta } from './memory'
import { isPromiseLike } from './options'
import { type Plan, PROMISE_META } from './plan'
import type { SetOptions } from './storage'
import { SKIPPED, write } from './store'

/** What a hit returns for what a slot holds: a Promise exactly when the computation returned one. */
export function shapeOf(plan: Plan, held: unknown): unknown {
  if (held instanceof WithMeta) {
    return plan.isAsyncFn || held.meta.promise === true ? Promise.resolve(held.value) : held.value
  }
  return plan.isAsyncFn ? Promise.resolve(held) : held
}

const heldValue = (held: unknown): unknown => (held instanceof WithMeta ? held.value : held)

/**
 * Serves, refreshes or computes, given what the read found (`MISS`, `SKIPPED`, or what a slot holds). `flight` is
 * the caller's flight over an async storage (registered before the read); over a sync storage it is undefined and
 * the result is returned directly.
 */
export function afterRead(
  plan: Plan,
  self: unknown,
  args: unknown[],
  key: string,
  held: unknown,
  flight: Flight | undefined,
): unknown {
  let fallback: WithMeta | undefined
  if (held !== MISS && held !== SKIPPED) {
    const state = held instanceof WithMeta ? classify(held.meta, Date.now()) : FRESH
    if (state === FRESH || state === AHEAD || state === STALE) {
      if (state !== FRESH) refreshBehind(plan, self, args, key, held as WithMeta)
      return answer(plan, flight, held)
    }
    if (state === FALLBACK) {
      if (inBackoff(plan.identity, key)) return answer(plan, flight, held)
      fallback = held as WithMeta
    }
  }
  if (flight === undefined) {
    const joined = plan.identity.pending.get(key)
    if (joined !== undefined) return joined.promise
  }
  return compute(plan, self, args, key, held !== SKIPPED, fallback, flight ?? new Flight(key, false))
}

function answer(plan: Plan, flight: Flight | undefined, held: unknown): unknown {
  if (flight === undefined) return shapeOf(plan, held)
  forget(plan.identity, flight)
  flight.resolve(heldValue(held))
  return flight.promise
}

/** Recomputes now and stores the result, whatever the storage holds (`.refresh()`). */
export function refreshNow(plan: Plan, self: unknown, args: unknown[], key: string): unknown {
  const { identity } = plan
  // Computations already running started earlier: their results must not overwrite this one's.
  for (const flights of [identity.pending, identity.refreshing]) {
    const older = flights.get(key)
    if (older !== undefined) older.invalidated = true
  }
  const flight = new Flight(key, false)
  if (plan.storage.async) identity.pending.set(key, flight)
  identity.backoff.delete(key)
  return compute(plan, self, args, key, true, undefined, flight)
}

/** Starts one refresh of `key` behind a stale or refresh-ahead hit, after the current call stack. */
function refreshBehind(plan: Plan, self: unknown, args: unknown[], key: string, stale: WithMeta): void {
  const { refreshing } = plan.identity
  if (refreshing.has(key) || inBackoff(plan.identity, key)) return
  const flight = new Flight(key, true)
  refreshing.set(key, flight)
  setImmediate(() => {
    if (flight.invalidated) return
    try {
      compute(plan, self, args, key, true, stale, flight)
    } catch {
      // compute() reports a background failure itself; nothing may escape into the event loop.
    }
  })
}

function inBackoff(identity: Identity, key: string): boolean {
  if (identity.backoff.size === 0) return false
  const until = identity.backoff.get(key)
  if (until === undefined) return false
  if (Date.now() < until) return true
  identity.backoff.delete(key)
  return false
}

/** Removes `flight` from wherever it is registered (if a newer one didn't take its place). */
function forget(identity: Identity, flight: Flight): void {
  const { key } = flight
  if (identity.pending.get(key) === flight) identity.pending.delete(key)
  if (identity.refreshing.get(key) === flight) identity.refreshing.delete(key)
  if (identity.abandoned.get(key) === flight) identity.abandoned.delete(key)
}

function contextOf(flight: Flight, stale: WithMeta | undefined): ComputeContext {
  return {
    get signal() {
      return flight.signal
    },
    background: flight.background,
    stale:
      stale === undefined
        ? undefined
        : { value: stale.value, createdAt: stale.createdAt, staleAt: stale.meta.staleAt as number },
  }
}

/**
 * Runs `fn` (or joins the computation a hard timeout abandoned for this key) and lands its result. Returns the
 * value for a sync `fn` over a sync storage, else the flight's promise.
 */
function compute(
  plan: Plan,
  self: unknown,
  args: unknown[],
  key: string,
  writable: boolean,
  fallback: WithMeta | undefined,
  flight: Flight,
): unknown {
  // At most one computation per key outlives its hard timeout: later misses wait for it instead of starting
  // another (it stores its own result, so they don't write it again).
  const orphan = flight.background ? undefined : plan.identity.abandoned.get(key)?.computation
  let result: unknown
  try {
    result = orphan ?? runInContext(contextOf(flight, fallback), plan.fn, self, args)
  } catch (error) {
    return failed(plan, flight, fallback, error, true)
  }
  if (!isPromiseLike(result)) return land(plan, flight, result, false, writable, !plan.storage.async)
  if (orphan !== undefined) writable = false
  const computation = Promise.resolve(result)
  flight.computation = computation
  if (!flight.background && plan.identity.pending.get(key) !== flight) plan.identity.pending.set(key, flight)
  armTimeouts(plan, flight, fallback)
  // Callers hold flight.promise; these handlers settle it and must not hand a rejection to anyone else.
  computation.then(
    (value) => {
      land(plan, flight, value, true, writable, false)
    },
    (error: unknown) => {
      failed(plan, flight, fallback, error, false)
    },
  )
  return flight.promise
}

/**
 * Stores a computed value (unless invalidated) and answers the callers, after the write over an async storage.
 * `direct`: a sync caller is on the stack and gets the value (or, in strict mode, the write's error) itself.
 */
function land(
  plan: Plan,
  flight: Flight,
  value: unknown,
  promised: boolean,
  writable: boolean,
  direct: boolean,
): unknown {
  flight.finish()
  const done = (): unknown => {
    forget(plan.identity, flight)
    plan.identity.backoff.delete(flight.key)
    flight.resolve(value)
    return value
  }
  // Only in strict mode (failOpen: false) does a failed write reach the callers.
  const writeFailed = (error: unknown): unknown => {
    forget(plan.identity, flight)
    flight.reject(error)
    if (direct) throw error
    return undefined
  }
  let written: void | Promise<void>
  try {
    written = writable && !flight.invalidated ? store(plan, flight.key, value, promised) : undefined
  } catch (error) {
    return writeFailed(error)
  }
  return written === undefined ? done() : written.then(done, writeFailed)
}

function store(plan: Plan, key: string, value: unknown, promised: boolean): void | Promise<void> {
  if (plan.shouldCache !== undefined && !plan.shouldCache(value)) return
  let options: SetOptions | undefined
  if (plan.fixedSet !== undefined) options = promised ? plan.fixedSet.promise : plan.fixedSet.plain
  else {
    let times: ReturnType<typeof writeTimes>
    try {
      times = writeTimes(plan.freshness, value, Date.now())
    } catch (error) {
      // A per-result ttl/swr/staleIfError function returned something that is not a duration.
      plan.report('set', plan.namespace, key, error)
      return
    }
    if (times === false) return
    const meta = promised ? { ...times.meta, ...PROMISE_META } : times.meta
    options = { ttl: times.ttl, meta }
  }
  return write(plan, key, value, options)
}

/**
 * `fn` failed: serve the stale value its window still allows (reported, and no new attempt for `errorBackoff`),
 * else its own error. `sync`: it threw before returning anything, so a sync caller is still on the stack.
 */
function failed(plan: Plan, flight: Flight, fallback: WithMeta | undefined, error: unknown, sync: boolean): unknown {
  flight.finish()
  forget(plan.identity, flight)
  const now = Date.now()
  // A background refresh keeps serving the entry it refreshes; a foreground call only within staleIfError.
  const usable = fallback !== undefined && (flight.background || (fallback.meta.errorUntil ?? 0) > now)
  const direct = sync && !plan.storage.async
  if (usable) {
    plan.identity.backoff.set(flight.key, now + plan.errorBackoffMs)
    plan.report('compute', plan.namespace, flight.key, error)
    flight.resolve(fallback.value)
    return direct ? shapeOf(plan, fallback) : flight.promise
  }
  if (direct) throw error
  flight.reject(error)
  return flight.promise
}

/** The soft timeout (only with a stale value in hand) and the hard timeout of a running computation. */
function armTimeouts(plan: Plan, flight: Flight, fallback: WithMeta | undefined): void {
  const { softTimeoutMs, hardTimeoutMs } = plan
  if (softTimeoutMs !== undefined && fallback !== undefined && !flight.background) {
    flight.after(softTimeoutMs, () => flight.resolve(fallback.value))
  }
  if (hardTimeoutMs === undefined) return
  flight.after(hardTimeoutMs, () => {
    const error = new TimeoutError({ functionName: plan.name, namespace: plan.namespace, timeoutMs: hardTimeoutMs })
    flight.abort(error)
    const { identity } = plan
    // Free the key for new callers; the computation runs on, and later misses join it rather than start another.
    if (identity.pending.get(flight.key) === flight) identity.pending.delete(flight.key)
    if (identity.refreshing.get(flight.key) === flight) identity.refreshing.delete(flight.key)
    if (!identity.abandoned.has(flight.key)) identity.abandoned.set(flight.key, flight)
    if (flight.settled) return
    const errorUntil = fallback?.meta.errorUntil
    if (fallback !== undefined && errorUntil !== undefined && Date.now() < errorUntil) {
      identity.backoff.set(flight.key, Date.now() + plan.errorBackoffMs)
      plan.report('compute', plan.namespace, flight.key, error)
      flight.resolve(fallback.value)
    } else {
      flight.reject(error)
    }
  })
}
