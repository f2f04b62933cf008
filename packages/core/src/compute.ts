/**
 * Running `fn` for a flight (compute-run.ts calls it) and landing its result: the soft and hard
 * timeouts, the write (with the entry's timeline), and what a failure serves instead.
 */

import { firstFor, joinsRunning, lateResults, reportedFailures, runningFor } from './compute-join'
import { keyMoved, run, serveStaleOnError } from './compute-run'
import { TimeoutError } from './errors'
import { abandon, type Flight, forget, holdOff, leavePending, moveAway, register } from './flight'
import { servableOnError, writeTimes } from './freshness'
import { leased } from './lease'
import { endLease } from './lease-options'
import { WithMeta } from './memory'
import { mark, markUnset, publishEvent } from './observe'
import { isPromiseLike } from './options'
import type { Plan } from './plan'
import type { SetOptions } from './storage'
import { write, writeLeased } from './store'

/** What a hit returns for what a slot holds: a Promise exactly when the computation returned one. */
export function shapeOf(plan: Plan, held: unknown): unknown {
  if (held instanceof WithMeta) {
    return plan.isAsyncFn || held.meta.promise === true ? Promise.resolve(held.value) : held.value
  }
  return plan.isAsyncFn ? Promise.resolve(held) : held
}

/**
 * Runs `fn` (or joins the computation a hard timeout abandoned for this key) and lands its result. Returns the
 * value for a sync `fn` over a sync storage, else the flight's promise.
 */
export function compute(
  plan: Plan,
  self: unknown,
  args: unknown[],
  key: string,
  writable: boolean,
  fallback: WithMeta | undefined,
  flight: Flight,
): unknown {
  // Over a storage with leases, a computation that may store its result takes the key's lease first (lease.ts),
  // unless a miss joins a computation already running (a timeout abandoned it, or it is a background refresh).
  if (plan.lease !== undefined && writable && (flight.reason !== 'miss' || !joinsRunning(plan, key))) {
    return leased(plan, self, args, key, fallback, flight, computeHere)
  }
  return computeHere(plan, self, args, key, writable, fallback, flight)
}

function computeHere(
  plan: Plan,
  self: unknown,
  args: unknown[],
  key: string,
  writable: boolean,
  fallback: WithMeta | undefined,
  flight: Flight,
): unknown {
  // At most one computation per key runs on after a timeout answered its callers: later misses wait for it instead
  // of starting another (it stores its own result, so they don't write it again), each with the soft and hard
  // timeouts of its own arrival, and the stale value it read as its own fallback. A background refresh still running
  // when its entry is gone is joined the same way (runningFor).
  const orphan = flight.reason === 'miss' ? runningFor(plan, key) : undefined
  markUnset(flight.observer, orphan !== undefined ? 'joined' : writable ? 'miss' : 'bypass')
  // Over an async storage, or behind a stale hit, fn runs after the call returned: an argument object changed since
  // then makes it compute another key's result, for neither this key's entry nor its later callers (not a hit cost).
  const moved = orphan === undefined && (plan.storage.async || flight.background) && keyMoved(plan, args, key)
  if (moved) {
    // Invalidated: never stored, and never joined, not even once a timeout abandons it (abandon skips it); the
    // calls that joined it while its read ran call again (flight.ts `joined`).
    writable = false
    moveAway(plan.identity, flight)
  }
  let result: unknown
  try {
    result = orphan ?? run(plan, self, args, flight, fallback, writable)
  } catch (error) {
    return failed(plan, flight, fallback, error, true)
  }
  if (!isPromiseLike(result)) return land(plan, flight, result, false, writable, !plan.storage.async)
  if (orphan !== undefined) writable = false
  const computation = Promise.resolve(result)
  flight.computation = computation
  // A call that joins a computation running on is not joined itself: each later call joins that computation with
  // a flight of its own, so its soft and hard timeouts count from its own arrival, not from this call's. Nor does
  // its timeout hand the computation on (`abandon` skips it): a `.refresh()` may have superseded it meanwhile.
  if (orphan !== undefined) {
    flight.invalidated = true
    leavePending(plan.identity, flight)
  } else if (!moved && !flight.background) register(plan.identity, flight)
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
  // One event per computation, however many calls joined it (each flight sharing it lands it).
  if (flight.settled && !flight.background && firstFor(lateResults, flight.computation)) {
    publishEvent(plan.event('late-result', flight.key))
  }
  flight.finish()
  const done = (): unknown => {
    endLease(plan, flight)
    forget(plan.identity, flight)
    plan.identity.backoff.delete(flight.key)
    flight.resolve(value)
    return value
  }
  // Only in strict mode (failOpen: false) does a failed write reach the callers. A sync caller on the stack gets it
  // thrown, and then nobody holds the flight's promise: rejecting it too would be an unhandled rejection (which ends
  // the process under Node's default), so it is left alone, as `failed` does.
  const writeFailed = (error: unknown): unknown => {
    endLease(plan, flight)
    forget(plan.identity, flight)
    if (direct) throw error
    flight.reject(error)
    return undefined
  }
  let written: void | Promise<void>
  try {
    written = writable && !flight.invalidated ? store(plan, flight, value, promised) : undefined
  } catch (error) {
    return writeFailed(error)
  }
  return written === undefined ? done() : written.then(done, writeFailed)
}

function store(plan: Plan, flight: Flight, value: unknown, promised: boolean): void | Promise<void> {
  const { key } = flight
  if (plan.shouldCache !== undefined) {
    // As a per-result ttl function that fails: the value was computed, so it is returned, unstored, and reported
    // (also from a background refresh, where a throw would reach no one).
    let keep: boolean
    try {
      keep = plan.shouldCache(value)
    } catch (error) {
      plan.report('set', plan.namespace, key, error)
      return
    }
    if (!keep) return
  }
  // Tags whose tokens could not be read: an entry that could not be checked later is not stored.
  if (plan.tags !== undefined && flight.tags === undefined) return
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
    // times.meta is this write's own object: added to, not copied (`{ ...meta, tags }` costs about 1 us on Node 20).
    let meta = times.meta
    if (promised || flight.tags !== undefined) {
      meta ??= {}
      if (promised) meta.promise = true
      if (flight.tags !== undefined) meta.tags = flight.tags
    }
    options = { ttl: times.ttl, meta }
  }
  return flight.fenced ? writeLeased(plan, flight, value, options) : write(plan, key, value, options)
}

/**
 * `fn` failed: serve the stale value its window still allows (reported, and no new attempt for `errorBackoff`),
 * else its own error. `sync`: it threw before returning anything, so a sync caller is still on the stack.
 */
function failed(plan: Plan, flight: Flight, fallback: WithMeta | undefined, error: unknown, sync: boolean): unknown {
  flight.finish()
  endLease(plan, flight)
  forget(plan.identity, flight)
  const now = Date.now()
  // A background refresh keeps serving the entry it refreshes; a foreground call only within staleIfError.
  const usable = fallback !== undefined && (flight.background || servableOnError(fallback.meta, now))
  const direct = sync && !plan.storage.async
  if (usable) {
    holdOff(plan.identity, flight.key, now + plan.errorBackoffMs)
    // One failure is reported once, however many calls joined the computation (each flight sharing it fails).
    if (firstFor(reportedFailures, flight.computation)) serveStaleOnError(plan, flight, fallback, error)
    else {
      if (!flight.settled) mark(flight.observer, 'stale-if-error')
      flight.resolve(fallback.value)
    }
    return direct ? shapeOf(plan, fallback) : flight.promise
  }
  if (!flight.settled) mark(flight.observer, 'error')
  if (direct) throw error
  flight.reject(error)
  return flight.promise
}

/**
 * The soft timeout (only with a stale value in hand) and the hard timeout of a running computation. Either answers
 * the callers with the stale value only while it is inside its staleIfError window: past it, a wrong result.
 */
function armTimeouts(plan: Plan, flight: Flight, fallback: WithMeta | undefined): void {
  const { softTimeoutMs, hardTimeoutMs, identity } = plan
  if (softTimeoutMs !== undefined && fallback !== undefined && !flight.background) {
    flight.after(softTimeoutMs, () => {
      // Past the window the callers wait on, for the computation or the hard timeout, as a miss does.
      if (flight.settled || !servableOnError(fallback.meta, Date.now())) return
      mark(flight.observer, 'stale-if-timeout')
      flight.resolve(fallback.value)
      abandon(identity, flight)
    })
  }
  if (hardTimeoutMs === undefined) return
  flight.after(hardTimeoutMs, () => {
    const error = new TimeoutError({ functionName: plan.name, namespace: plan.namespace, timeoutMs: hardTimeoutMs })
    flight.abort(error)
    // Another replica may take over now; this computation's late result can no longer be stored.
    endLease(plan, flight)
    // Free the key for new callers; the computation runs on, and later misses join it rather than start another.
    abandon(identity, flight)
    if (flight.settled) return
    // A background refresh keeps serving the entry it refreshes, and its timeout is reported, as its failure is.
    if (fallback !== undefined && (flight.background || servableOnError(fallback.meta, Date.now()))) {
      holdOff(identity, flight.key, Date.now() + plan.errorBackoffMs)
      plan.report('compute', plan.namespace, flight.key, error)
      publishEvent(plan.event('stale-if-error', flight.key, error))
      mark(flight.observer, 'stale-if-timeout')
      flight.resolve(fallback.value)
    } else {
      mark(flight.observer, 'error')
      flight.reject(error)
    }
  })
}
