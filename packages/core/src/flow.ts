/**
 * What happens after a read, written once for sync and async storages: classify the entry on its timeline, serve
 * it (refreshing behind when it asks for that), or compute, with the stale value in hand as the fallback for
 * errors and timeouts. Only the read differs between the two kinds of storage (cache-value.ts); from here on, a
 * sync `fn` over a sync storage stays synchronous and anything that returns a Promise goes through a Flight.
 */
import { compute, shapeOf } from './compute'
import { Flight, forget, inBackoff } from './flight'
import { AHEAD, classify, FALLBACK, FRESH, STALE } from './freshness'
import { MISS, WithMeta } from './memory'
import { mark } from './observe'
import type { Plan } from './plan'
import { SKIPPED } from './store'

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
      mark(flight?.observer, state === STALE ? 'stale' : 'hit')
      if (state !== FRESH) refreshBehind(plan, self, args, key, held as WithMeta, state === AHEAD)
      return answer(plan, flight, held)
    }
    if (state === FALLBACK) {
      if (inBackoff(plan.identity, key)) {
        mark(flight?.observer, 'stale-if-error')
        return answer(plan, flight, held)
      }
      fallback = held as WithMeta
    }
  }
  if (flight === undefined) {
    const joined = plan.identity.pending.get(key)
    if (joined !== undefined) {
      mark(undefined, 'joined')
      return joined.promise
    }
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
  for (const flights of [identity.pending, identity.refreshing, identity.abandoned]) {
    const older = flights.get(key)
    if (older !== undefined) older.invalidated = true
  }
  const flight = new Flight(key, false)
  flight.reason = 'refresh'
  mark(flight.observer, 'refreshed')
  if (plan.storage.async) identity.pending.set(key, flight)
  identity.backoff.delete(key)
  return compute(plan, self, args, key, true, undefined, flight)
}

/** Starts one refresh of `key` behind a stale or refresh-ahead hit, after the current call stack. */
function refreshBehind(plan: Plan, self: unknown, args: unknown[], key: string, stale: WithMeta, ahead: boolean): void {
  const { refreshing, abandoned } = plan.identity
  // One computation per key at a time: not while one runs, nor while one a hard timeout abandoned runs on.
  if (refreshing.has(key) || abandoned.has(key) || inBackoff(plan.identity, key)) return
  const flight = new Flight(key, true)
  flight.reason = ahead ? 'refresh-ahead' : 'swr'
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
