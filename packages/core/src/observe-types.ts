/** The payloads memokit publishes on its `memokit:*` channels (observe.ts publishes them). */
import type { StorageOp } from './errors'

/** What a call ended as. Exactly one per call. */
export type CallOutcome =
  /** A fresh entry (or a fresh one past the refresh-ahead point: the refresh is a `memokit:compute` of its own). */
  | 'hit'
  /** An entry in its stale-while-revalidate window, served at once; a background refresh runs behind. */
  | 'stale'
  /** `fn` failed, or failed recently (`errorBackoff`), and a value in the stale-if-error window was served. */
  | 'stale-if-error'
  /** A soft or hard timeout passed and a stale value was served. */
  | 'stale-if-timeout'
  /** No usable entry: this call ran `fn`. */
  | 'miss'
  /** The call shared a computation another call of this process started. */
  | 'joined'
  /** The call waited for another replica's computation and got its stored value (`singleFlight: 'distributed'`). */
  | 'waited'
  /** `.refresh()`: `fn` ran whatever the storage held. */
  | 'refreshed'
  /** The storage was skipped (circuit breaker open) or failed: `fn` ran, nothing was read or written. */
  | 'bypass'
  /** The call threw or rejected. */
  | 'error'

/** Which tier answered: a process-local storage, a remote one (the two-tier storage adds `l1` and `l2` later). */
export type Tier = 'local' | 'remote'

/** The context of a `memokit:call` trace. */
export interface CallMessage {
  readonly namespace: string
  readonly functionName: string
  /** The storage's `name`. */
  readonly storage: string
  readonly tier: Tier
  /** Set by the time `end` / `asyncEnd` is published. */
  outcome: CallOutcome | undefined
  /** Only with the `observeKeys` option: the raw key, or a 16-character digest of it. */
  readonly key: string | undefined
  /** `true` when the call returned a Promise: then `outcome` and `result` are final at `asyncEnd`, not `end`. */
  async?: boolean
  /** The call's result (on `end` for a sync call, `asyncEnd` for a Promise). */
  result?: unknown
  /** What the call threw or rejected with (on `error`). */
  error?: unknown
}

/** Why `fn` ran. */
export type ComputeReason = 'miss' | 'swr' | 'refresh-ahead' | 'refresh'

/** The context of a `memokit:compute` trace. */
export interface ComputeMessage {
  readonly namespace: string
  readonly functionName: string
  readonly storage: string
  readonly reason: ComputeReason
  /** A refresh behind a stale or refresh-ahead hit: no caller waits for it. */
  readonly background: boolean
  readonly key: string | undefined
  /** `true` when `fn` returned a Promise: its trace ends at `asyncEnd`. */
  async?: boolean
  result?: unknown
  error?: unknown
}

/** The context of a `memokit:storage` trace. */
export interface StorageMessage {
  readonly storage: string
  readonly op: StorageOp
  readonly namespace: string
  readonly key: string | undefined
  /** `'hit'`/`'miss'` for a read, `'ok'` for other operations, `'error'` when it failed. */
  status: 'hit' | 'miss' | 'ok' | 'error' | undefined
  /** `true` for an async storage: the operation's trace ends at `asyncEnd`. */
  async?: boolean
  result?: unknown
  error?: unknown
}

/** What a `memokit:event` reports. The `bus-*` events come from a `tieredStorage` (`storage` = the tier's name). */
export type EventType =
  /** A storage's circuit breaker opened: calls skip the storage and run `fn`. */
  | 'breaker-open'
  /** The breaker closed again. */
  | 'breaker-close'
  /** A stale value was served because `fn` failed. */
  | 'stale-if-error'
  /** A computation finished after its callers had already been answered (e.g. by a timeout). */
  | 'late-result'
  /** A result could not be stored: the codec could not encode it (`error`). */
  | 'not-cached'
  /** The tier's L1 is usable again; `reason`: `'transport'` (the bus reconnected) or `'heartbeat'` (own beats came back). */
  | 'bus-up'
  /** The tier's L1 is bypassed; `reason`: `'transport'` (the bus says down) or `'heartbeat'` (own beats stopped). */
  | 'bus-down'
  /** A lost bus message was detected (a sequence gap); a `bus-dropped` with reason `'gap'` follows. */
  | 'bus-gap'
  /** Every L1 entry written before now was dropped; `reason`: `'up' | 'gap' | 'new-sender' | 'heartbeat' | 'tags'`. */
  | 'bus-dropped'
  /** A bus publish failed (`error`); other replicas see the gap and drop their L1. */
  | 'bus-publish-failed'
  /** The bus subscription failed (`error`); the L1 stays bypassed, retried every heartbeat. */
  | 'bus-subscribe-failed'
  /** A payload on the tier's channel was ignored; `reason`: `'version'` (another protocol) or `'malformed'`. */
  | 'bus-unreadable'
  /** This replica took a key's lease and computes it (leases: `singleFlight`). */
  | 'lease-acquired'
  /** A computation's lease expired, went to another replica or was removed by an invalidation: not stored. */
  | 'lease-lost'
  /** `waitTimeout` passed while another replica held the lease: computed here unstored, or a TimeoutError. */
  | 'lease-wait-timeout'
  /** A lease operation failed (`error`): this call fell back to process-local single-flight. */
  | 'lease-unavailable'

/** A point event on `memokit:event`. */
export interface EventMessage {
  readonly type: EventType
  readonly storage: string
  readonly namespace: string | undefined
  readonly functionName: string | undefined
  readonly key: string | undefined
  /** The error behind the event, if any. */
  readonly error?: unknown
  /** Only on `bus-*` events: why (see {@link EventType}). */
  readonly reason?: string
}
