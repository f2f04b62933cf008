/**
 * Leases over a shared storage (lease-options.ts decides when): before `fn` runs for a key, this replica takes the
 * key's lease, and the result is stored only through it (`setIfLeased`). A `delete` or `clear` anywhere removes the
 * lease, so a computation that an invalidation overtook can't store its older result afterwards. With
 * `singleFlight: 'distributed'`, a miss whose lease another replica holds polls for that replica's value instead
 * of computing; a storage failing at leases degrades to process-local single-flight and never fails the call.
 */
import { serveStaleOnError } from './compute-run'
import { TimeoutError } from './errors'
import { abandon, Flight, forget } from './flight'
import { classify, DEAD, FALLBACK, servableOnError } from './freshness'
import { hold } from './lease-hold'
import { type LeasePlan, leaseEvent, leaseOp, newToken, releaseQuietly } from './lease-options'
import { MISS, WithMeta } from './memory'
import { mark, markUnset } from './observe'
import type { Plan } from './plan'
import { readAsync, SKIPPED } from './store'
import { verifyTags } from './tags'

/** `compute.ts`'s computation without the lease step: runs `fn` here and lands its result. */
export type ComputeHere = (
  plan: Plan,
  self: unknown,
  args: unknown[],
  key: string,
  writable: boolean,
  fallback: WithMeta | undefined,
  flight: Flight,
) => unknown

// Waiters poll with jittered exponential backoff: a 200 ms computation costs a waiting process about 5 reads.
const FIRST_POLL_MS = 20
const POLL_GROWTH = 1.6
const MAX_POLL_MS = 1_000

/** One call's way to a computation: what `compute` was given, and how to compute here once decided. */
interface Attempt {
  readonly plan: Plan
  readonly self: unknown
  readonly args: unknown[]
  readonly key: string
  readonly fallback: WithMeta | undefined
  readonly flight: Flight
  readonly here: ComputeHere
  /** `fn` runs here for this flight: the wait is over. */
  computing: boolean
  /** Once a soft timeout answered the flight's callers while it waited: settled with what the wait ends with. */
  wait: { resolve(value: unknown): void; reject(error: unknown): void } | undefined
}

/** Takes the lease (or waits for whoever holds it), then computes; returns the flight's promise. */
export function leased(
  plan: Plan,
  self: unknown,
  args: unknown[],
  key: string,
  fallback: WithMeta | undefined,
  flight: Flight,
  here: ComputeHere,
): Promise<unknown> {
  // Registered now, so this process's other callers join instead of taking leases of their own.
  if (!flight.background && plan.identity.pending.get(key) !== flight) plan.identity.pending.set(key, flight)
  const attempt: Attempt = { plan, self, args, key, fallback, flight, here, computing: false, wait: undefined }
  // A waiter with a stale value in hand answers with it after the soft timeout, as a computing caller would.
  const soft = plan.softTimeoutMs
  if (plan.lease?.distributed && fallback !== undefined && soft !== undefined && !flight.background) {
    flight.after(soft, () => answerStale(attempt, fallback))
  }
  takeOrWait(attempt).catch((error: unknown) => {
    forget(plan.identity, flight)
    flight.reject(error)
    attempt.wait?.reject(error)
  })
  return flight.promise
}

/**
 * A waiter's soft timeout: its callers get the stale value only while it is inside its staleIfError window (past
 * it they wait on, as a miss does). Later calls must not get that answer (it may be past the window by then), nor
 * poll a second time: the flight leaves `pending`, and they join what its wait ends with as they join a running
 * computation in `abandoned` (compute.ts), each with soft and hard timeouts of its own arrival.
 */
function answerStale(attempt: Attempt, fallback: WithMeta): void {
  const { plan, flight } = attempt
  if (flight.settled || !servableOnError(fallback.meta, Date.now())) return
  mark(flight.observer, 'stale-if-timeout')
  flight.resolve(fallback.value)
  // An invalidation or `.refresh()` took it out: nothing may join it. Once `fn` runs here, its computation is joined.
  if (plan.identity.pending.get(flight.key) !== flight) return
  if (!attempt.computing) {
    flight.computation = new Promise((resolve, reject) => {
      attempt.wait = { resolve, reject }
    })
    // Nobody may have joined it: a rejection then reaches no one.
    flight.computation.catch(() => {})
  }
  abandon(plan.identity, flight)
}

async function takeOrWait(attempt: Attempt): Promise<void> {
  const { plan, key, flight } = attempt
  const lease = plan.lease as LeasePlan
  const started = Date.now()
  let delay = FIRST_POLL_MS
  let timedOut = false
  for (;;) {
    const token = newToken()
    const took = await leaseOp(plan, 'acquireLease', key, token)
    if (took === undefined) {
      releaseQuietly(plan, key, token)
      return computeUnleased(attempt)
    }
    if (took) {
      // The holder before us may have stored its value and released between our read and this lease. Not for
      // `.refresh()`, which runs fn whatever the storage holds.
      if (lease.distributed && !flight.background && flight.reason !== 'refresh') {
        let held: unknown
        try {
          held = await poll(attempt)
        } catch (error) {
          releaseQuietly(plan, key, token) // strict mode: the callers get the read's failure
          throw error
        }
        if (serve(attempt, held)) {
          void leaseOp(plan, 'releaseLease', key, token)
          return
        }
        // The re-read failed (reported) or the breaker is open: as after any failed read, fn runs unstored (the
        // caller waits one timeout of a failing storage, not a second one for a write).
        if (held === SKIPPED) {
          releaseQuietly(plan, key, token)
          return computeUnleased(attempt)
        }
      }
      computeHere(attempt, true, token)
      return
    }
    // Another replica holds the lease: a refresh behind a stale hit is its job now, not ours.
    if (flight.background) return dropBackground(plan, flight)
    // A process-local miss computes but leaves the write to the holder. `.refresh()` waits for the lease in both
    // modes, and never serves what the holder stores (fn must run after the call): unfenced, its write would undo
    // an invalidation that completes while its fn runs.
    const refresh = flight.reason === 'refresh'
    if (!lease.distributed && !refresh) return computeHere(attempt, false)
    if (timedOut) return waitTimedOut(attempt)
    await sleep(delay * (0.75 + Math.random() * 0.5))
    delay = Math.min(delay * POLL_GROWTH, MAX_POLL_MS)
    if (!refresh) {
      const held = await poll(attempt)
      if (held === SKIPPED) return computeUnleased(attempt)
      if (serve(attempt, held)) return
    }
    // One more try for the lease before deciding, in case its holder just released it.
    if (Date.now() - started >= lease.waitMs) timedOut = true
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

async function poll({ plan, args, key }: Attempt): Promise<unknown> {
  const held = await readAsync(plan, key)
  return plan.tags === undefined ? held : verifyTags(plan, args, held)
}

/** Answers the flight's callers with what a poll found, if it is servable; `false` when there is nothing yet. */
function serve({ plan, flight, wait }: Attempt, held: unknown): boolean {
  if (held === MISS || held === SKIPPED) return false
  if (held instanceof WithMeta) {
    const state = classify(held.meta, Date.now())
    if (state === FALLBACK || state === DEAD) return false
  }
  const value = held instanceof WithMeta ? held.value : held
  // Callers a soft timeout answered keep that outcome (their call may have been reported already).
  if (!flight.settled) mark(flight.observer, 'waited')
  forget(plan.identity, flight)
  flight.resolve(value)
  wait?.resolve(value)
  return true
}

/** Runs `fn` here; `writable`: it may store the result (it holds the lease `token`, or it is a `.refresh()`). */
function computeHere(attempt: Attempt, writable: boolean, token?: string): void {
  const { plan, self, args, key, fallback, flight, here, wait } = attempt
  attempt.computing = true
  if (wait !== undefined) {
    handOver(attempt, wait, writable, token)
    return
  }
  if (token !== undefined) hold(plan, flight, token)
  markUnset(flight.observer, 'miss')
  here(plan, self, args, key, writable, fallback, flight)
}

/**
 * `fn` runs here after a soft timeout answered the flight's callers: the calls that joined its wait get this
 * computation's outcome. Their own flight runs it, so that a sync `fn`'s outcome, landed before `here` returns,
 * reaches them too (the answered flight's promise can't carry it); it then stays joinable by its computation only.
 */
function handOver(attempt: Attempt, wait: NonNullable<Attempt['wait']>, writable: boolean, token?: string): void {
  const { plan, self, args, key, fallback, flight, here } = attempt
  // Out of `abandoned` first, or compute.ts would have the new flight join the wait it is to end.
  forget(plan.identity, flight)
  const next = new Flight(key, false)
  next.reason = flight.reason
  // A delete, clear or `.refresh()` came while it waited: the result is not stored, as it would not have been.
  next.invalidated = flight.invalidated
  if (flight.invalidated && flight.signal.aborted) next.abort(flight.signal.reason)
  if (token !== undefined) hold(plan, next, token)
  here(plan, self, args, key, writable, fallback, next)
  wait.resolve(next.computation ?? next.promise)
  if (next.computation === undefined) return
  // Its callers follow the computation, so its timeouts answer nobody; later calls join it, as they join an
  // answered flight's (register would have put it in `abandoned` had it been settled).
  next.settled = true
  if (plan.identity.pending.get(key) === next) abandon(plan.identity, next)
}

/** The lease storage failed: compute here as a process-local flight would (the storage's write will tell). */
function computeUnleased(attempt: Attempt): void {
  if (attempt.flight.background) dropBackground(attempt.plan, attempt.flight)
  else computeHere(attempt, false)
}

function dropBackground(plan: Plan, flight: Flight): void {
  forget(plan.identity, flight)
  flight.resolve(undefined)
}

function waitTimedOut(attempt: Attempt): void {
  const { plan, key, flight } = attempt
  const lease = plan.lease as LeasePlan
  leaseEvent(plan, 'lease-wait-timeout', key)
  if (lease.onTimeout === 'throw') {
    forget(plan.identity, flight)
    const { name: functionName, namespace } = plan
    const error = new TimeoutError({ functionName, namespace, timeoutMs: lease.waitMs, lease: true })
    // A failure like any other: a stale value inside its staleIfError window answers it, as it does a failed fn
    // and the calls that joined this wait (compute.ts).
    const { fallback } = attempt
    if (!flight.settled && fallback !== undefined && servableOnError(fallback.meta, Date.now())) {
      serveStaleOnError(plan, flight, fallback, error)
    } else {
      if (!flight.settled) mark(flight.observer, 'error')
      flight.reject(error)
    }
    attempt.wait?.reject(error)
    return
  }
  computeHere(attempt, false)
}
