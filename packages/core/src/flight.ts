import { BACKOFF_SWEEP_MIN, type Identity } from './identity'
import { type CallMessage, type ComputeReason, currentCall } from './observe'

/**
 * One computation of one key, shared by everyone waiting for it. Callers hold `promise`, which settles with the
 * computation's value, or earlier with a stale value (soft timeout, stale-if-error) or a TimeoutError (hard
 * timeout), whichever comes first. The computation itself may run on after that, no longer joinable by its promise
 * (`abandon`); `invalidated` (a delete, clear or `.refresh()` while it ran) keeps its result out of the storage.
 */
export class Flight {
  /**
   * What callers await. A chained flight (the async read path, flow.ts readAndServe) gets the read's own promise
   * here from its creator, and a deferred one only when it needs more than the read (`open`).
   */
  promise!: Promise<unknown>
  /** Set by a delete or clear of the key while the computation ran: its result must not be stored. */
  invalidated = false
  /**
   * The arguments no longer encoded to `key` when `fn` was about to run (an argument object changed after the
   * call): its outcome is for other arguments, so calls that joined it call again (`joined`). Implies `invalidated`.
   */
  moved = false
  /** The callers got their answer (the computation may still run). */
  settled = false
  /** The running computation, once `fn` returned a Promise (joined by later callers after a hard timeout). */
  computation: Promise<unknown> | undefined
  /** The observed call that started this flight (telemetry); none for background refreshes or when unobserved. */
  readonly observer: CallMessage | undefined
  /**
   * The tokens of the call's tags, read before `fn` ran and stored with its result (`tags` option); `undefined`
   * without tags, or when they could not be read (the result is then not stored).
   */
  tags: Readonly<Record<string, string>> | undefined = undefined
  /**
   * Leases (lease.ts): `fenced` once this flight took a lease, so its result may only be stored through it;
   * `lease` is the token while it is held (cleared when the fenced write consumed it, or the lease was released).
   */
  fenced = false
  lease: string | undefined = undefined
  /** Why `fn` runs in this flight, for `memokit:compute`. */
  reason: ComputeReason = 'miss'
  private controller: AbortController | undefined
  private timers: ReturnType<typeof setTimeout>[] | undefined
  private resolveCallers!: (value: unknown) => void
  private rejectCallers!: (error: unknown) => void

  constructor(
    readonly key: string,
    /** A refresh behind a stale hit: nobody waits for it. */
    readonly background: boolean,
    /** The creator sets `promise` and calls `open` before anything may settle the flight (flow.ts readAndServe). */
    chained = false,
  ) {
    if (!chained) this.open()
    // A background flight's rejection is reported, not awaited: it must not surface as an unhandled rejection.
    if (background) this.promise.catch(() => {})
    this.observer = background ? undefined : currentCall()
  }

  /** Makes the promise `resolve` and `reject` settle, and returns it (a chained flight's callers follow it). */
  open(): Promise<unknown> {
    this.promise = new Promise((resolve, reject) => {
      this.resolveCallers = resolve
      this.rejectCallers = reject
    })
    return this.promise
  }

  /** The signal `fn` sees through computeContext(); created on first use. */
  get signal(): AbortSignal {
    this.controller ??= new AbortController()
    return this.controller.signal
  }

  resolve(value: unknown): void {
    if (this.settled) return
    this.settled = true
    this.resolveCallers(value)
  }

  reject(error: unknown): void {
    if (this.settled) return
    this.settled = true
    this.rejectCallers(error)
  }

  /** The computation settled: its timers have nothing left to do. */
  finish(): void {
    if (this.timers === undefined) return
    for (const timer of this.timers) clearTimeout(timer)
    this.timers = undefined
  }

  abort(reason?: unknown): void {
    this.controller ??= new AbortController()
    if (!this.controller.signal.aborted) this.controller.abort(reason)
  }

  /** Runs `then` after `ms`, unless the computation settles first. */
  after(ms: number, then: () => void): void {
    const timer = setTimeout(then, ms)
    // A timeout must not keep a process alive by itself; the computation it watches does, if it still runs.
    timer.unref?.()
    this.timers ??= []
    this.timers.push(timer)
  }
}

/**
 * A later call's share of `flight`: its outcome, unless `fn` ran on arguments that had changed since the flight
 * began (`moved`), whose outcome is another key's; then the call runs again (`again`), with its own arguments.
 */
export function joined(flight: Flight, again: () => Promise<unknown>): Promise<unknown> {
  return flight.promise.then(
    (value) => (flight.moved ? again() : value),
    (error: unknown) => {
      if (flight.moved) return again()
      throw error
    },
  )
}

/**
 * The arguments of `flight` changed after its call, before `fn` ran: its result is for another key. Never stored,
 * never joined from now on (not even once a timeout abandons it), and the calls that joined it call again.
 */
export function moveAway(identity: Identity, flight: Flight): void {
  flight.moved = true
  flight.invalidated = true
  leavePending(identity, flight)
  if (identity.abandoned.get(flight.key) === flight) identity.abandoned.delete(flight.key)
}

/** Whether `key` had a failure served stale less than `errorBackoff` ago (no new attempt before then). */
export function inBackoff(identity: Identity, key: string): boolean {
  if (identity.backoff.size === 0) return false
  const until = identity.backoff.get(key)
  if (until === undefined) return false
  if (Date.now() < until) return true
  identity.backoff.delete(key)
  return false
}

/**
 * No new attempt to compute `key` before `until` (ms since the epoch). A key is otherwise dropped from the map only
 * when it is asked for again, so an origin outage over a large key space (a key per user) left one entry for every
 * key served stale, for the life of the process. Past BACKOFF_SWEEP_MIN keys, or twice what the last sweep left, the
 * keys whose time has passed are swept in one pass: the map holds at most about twice the keys backing off at once.
 */
export function holdOff(identity: Identity, key: string, until: number): void {
  const { backoff } = identity
  backoff.set(key, until)
  if (backoff.size <= identity.backoffSweepAt) return
  const now = Date.now()
  identity.backoffSweepAt = sweep(backoff, (t) => t <= now, BACKOFF_SWEEP_MIN)
}

/**
 * Deletes the entries of `map` whose value `done` accepts, in one pass; returns the size past which to sweep again:
 * `min`, or twice what is left. A map swept only when it grows that far costs O(1) per insert, amortised.
 */
export function sweep<K, V>(map: Map<K, V>, done: (value: V) => boolean, min: number): number {
  for (const [k, v] of map) if (done(v)) map.delete(k)
  return Math.max(min, map.size * 2)
}

/**
 * Makes the flight whose `fn` now runs joinable: by its promise while its callers wait, by its computation if they
 * already have their answer. Nothing answers a flight before its `fn` starts today (lease.ts hands an answered
 * wait's computation to a fresh flight); the branch keeps an early answer out of `pending` should that change. An
 * invalidated flight stays out: a delete, clear or `.refresh()` came after it started.
 */
export function register(identity: Identity, flight: Flight): void {
  if (flight.settled) abandon(identity, flight)
  else if (!flight.invalidated && identity.pending.get(flight.key) !== flight) identity.pending.set(flight.key, flight)
}

/**
 * `flight`'s callers have their answer (a timeout) while its computation runs on. A later call must not get that
 * answer: a stale value served at a soft timeout may be past its window by then. So the flight leaves `pending`,
 * and later misses join its computation instead (compute.ts), with timeouts of their own; no second `fn` starts.
 */
export function abandon(identity: Identity, flight: Flight): void {
  const { key } = flight
  leavePending(identity, flight)
  if (identity.refreshing.get(key) === flight) identity.refreshing.delete(key)
  if (!flight.invalidated && !identity.abandoned.has(key)) identity.abandoned.set(key, flight)
}

/** Removes `flight` from wherever it is registered (if a newer one didn't take its place). */
export function forget(identity: Identity, flight: Flight): void {
  const { key } = flight
  leavePending(identity, flight)
  if (identity.refreshing.get(key) === flight) identity.refreshing.delete(key)
  if (identity.abandoned.get(key) === flight) identity.abandoned.delete(key)
}

/** Takes `flight` out of `pending` if it is still the one registered under its key (a newer one may have replaced it). */
export function leavePending(identity: Identity, flight: Flight): void {
  if (identity.pending.get(flight.key) === flight) identity.pending.delete(flight.key)
}
