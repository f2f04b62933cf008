/**
 * What happens after a read, written once for sync and async storages: classify the entry on its timeline, serve
 * it (refreshing behind when it asks for that), or compute, with the stale value in hand as the fallback for
 * errors and timeouts. Only the read differs between the two kinds of storage (cache-value.ts); from here on, a
 * sync `fn` over a sync storage stays synchronous and anything that returns a Promise goes through a Flight.
 */
import { compute, shapeOf } from './compute'
import { Flight, forget, inBackoff, leavePending, sweep } from './flight'
import { AHEAD, classify, FALLBACK, FRESH, STALE } from './freshness'
import { supersede } from './identity'
import { endLease } from './lease-options'
import { MISS, WithMeta } from './memory'
import { mark } from './observe'
import type { Plan } from './plan'
import type { AsyncStorage, Entry } from './storage'
import { GET_THEN, type GetThen, readDone, readFailed, readFailedNow, SKIPPED, succeeded } from './store'

// What readAndServe reads while the breaker is open (readAsync's SKIPPED).
const SKIPPED_READ: Promise<typeof SKIPPED> = Promise.resolve(SKIPPED)

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
    // No clock read for an entry without a timeline (most hits): classify calls it FRESH whatever the time.
    const state = held instanceof WithMeta && held.meta.staleAt !== undefined ? classify(held.meta, Date.now()) : FRESH
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

/**
 * The plain async path after its read (cache-value.ts; readAndServe for a storage that throws): what the read
 * held goes through `afterRead` into `flight`, registered as pending by the caller, whose promise is returned.
 */
export function serveAfter(
  plan: Plan,
  self: unknown,
  args: unknown[],
  held: Promise<unknown>,
  flight: Flight,
): Promise<unknown> {
  held
    .then((h) => afterRead(plan, self, args, flight.key, h, flight))
    .catch((error: unknown) => {
      leavePending(plan.identity, flight)
      flight.reject(error)
    })
  return flight.promise
}

/**
 * An async storage's read and what follows it, as one promise: a fresh hit resolves it with the value, without
 * a deferred promise, a second `then` or a lookup in every flight map; anything else opens the flight and goes
 * through `afterRead`, as `readAsync` + `afterRead` would (flow.property.test.ts compares the two). The caller
 * (cache-value.ts) takes this path while nothing traces the storage and the wrapper has no tags; the flight is
 * registered as pending before the read is issued.
 */
export function readAndServe(plan: Plan, self: unknown, args: unknown[], key: string): Promise<unknown> {
  const { pending } = plan.identity
  const flight = new Flight(key, false, true)
  const onEntry = (entry: Entry | undefined | typeof SKIPPED): unknown => {
    if (entry === SKIPPED) return serveSlow(plan, self, args, flight, SKIPPED)
    // An entry without a timeline is a fresh hit (classify); it needs no WithMeta (readDone) to say so.
    if (entry === undefined || entry.meta?.staleAt !== undefined) {
      let held: unknown
      try {
        held = readDone(plan, entry)
      } catch (error) {
        return serveFailed(plan, self, args, flight, error)
      }
      return serveSlow(plan, self, args, flight, held)
    }
    try {
      succeeded(plan)
    } catch (error) {
      return serveFailed(plan, self, args, flight, error)
    }
    mark(flight.observer, 'hit')
    if (pending.get(key) === flight) vacate(pending, key)
    flight.settled = true
    return entry.value
  }
  const onError = (error: unknown): unknown => serveFailed(plan, self, args, flight, error)
  const storage = plan.storage as AsyncStorage & { [GET_THEN]?: GetThen }
  // Registered before the read: a storage may answer inside GET_THEN's call, and its answer must find the flight
  // here to take out (a hit, or a failure in strict mode), or later calls would join that answer for good.
  pending.set(key, flight)
  let served: Promise<unknown>
  try {
    if (!plan.breaker.allow()) served = SKIPPED_READ.then(onEntry)
    else {
      const getThen = storage[GET_THEN]
      served =
        getThen === undefined
          ? storage.get(plan.namespace, key).then(onEntry, onError)
          : getThen.call(storage, plan.namespace, key, onEntry, onError)
    }
  } catch (error) {
    // A storage that throws instead of rejecting: readAsync counts and reports that at once, before its first
    // await; so does this, and then it goes on as the plain path does.
    flight.open()
    return serveAfter(plan, self, args, readFailedNow(plan, error, key), flight)
  }
  flight.promise = served
  return served
}

// When readAndServe sweeps `pending`'s vacated keys: past this many entries, or twice what the last sweep left.
const SWEEP_MIN = 256
const SWEEP_AT: unique symbol = Symbol('memokit.sweepAt')
type Pending = Map<string, Flight | undefined> & { [SWEEP_AT]?: number }

/**
 * Takes a fresh hit's flight out of `pending` by leaving `undefined` under its key (every reader treats that as
 * absent), not by deleting it. V8 shrinks a Map's table when a delete leaves it under a quarter full and grows it
 * again on the next inserts: 64 hits in flight rebuilt `pending`'s table several times per burst, and the tables,
 * referenced from the long-lived Map, survived scavenges and were promoted along with what they held (scavenges of
 * 1.5-2 ms instead of 0.2-0.4 ms, and the old generation growing by megabytes between full collections). Vacated
 * keys are swept in one pass when the Map has grown past SWEEP_MIN or twice what the last sweep left.
 */
function vacate(pending: Map<string, Flight>, key: string): void {
  const map = pending as Pending
  map.set(key, undefined)
  if (map.size <= (map[SWEEP_AT] ?? SWEEP_MIN)) return
  map[SWEEP_AT] = sweep(map, isVacated, SWEEP_MIN)
}

const isVacated = (flight: Flight | undefined): boolean => flight === undefined

/** readAndServe after anything but a fresh hit: `afterRead` settles the opened flight, or throws. */
function serveSlow(plan: Plan, self: unknown, args: unknown[], flight: Flight, held: unknown): Promise<unknown> {
  const served = flight.open()
  try {
    afterRead(plan, self, args, flight.key, held, flight)
  } catch (error) {
    leavePending(plan.identity, flight)
    flight.reject(error)
  }
  return served
}

/** readAndServe after a failed read. readFailed throws in strict mode: the call rejects with that error. */
function serveFailed(plan: Plan, self: unknown, args: unknown[], flight: Flight, error: unknown): Promise<unknown> {
  let held: unknown
  try {
    held = readFailed(plan, error, flight.key)
  } catch (thrown) {
    leavePending(plan.identity, flight)
    flight.settled = true
    throw thrown
  }
  return serveSlow(plan, self, args, flight, held)
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
  // Computations already running started earlier: their results must not overwrite this one's, and no call may
  // join them from now on. Their leases go too (their results are never stored), so this one takes the lease next
  // instead of waiting for their fn to end.
  for (const flights of [identity.pending, identity.refreshing, identity.abandoned]) {
    const running = flights.get(key)
    if (running !== undefined) endLease(plan, running)
  }
  supersede(identity, key)
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
