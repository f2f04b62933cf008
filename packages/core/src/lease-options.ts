/**
 * The `singleFlight`, `lease`, `waitTimeout` and `onLeaseTimeout` options, resolved once into a LeasePlan. Leases
 * are used only over an async storage that has every lease member: a sync storage lives in one process, where the
 * flights already give one computation per key and keep invalidated results out. Also the one way core calls
 * those members (`leaseOp`: a failure is reported, never thrown; `endLease`, `releaseQuietly`), the tokens it passes
 * them, and the lease events.
 */
import { randomBytes } from 'node:crypto'
import { describe } from './describe'
import { parseDuration } from './duration'
import { ConfigError } from './errors'
import type { Flight } from './flight'
import { type EventType, eventChannel, publishEvent } from './observe'
import type { Plan } from './plan'
import { toStorageError } from './report'
import type { AnyStorage, AsyncStorage } from './storage'

/** The lease members, all or none (see `StorageContract`). */
export const LEASE_MEMBERS = ['acquireLease', 'releaseLease', 'extendLease', 'setIfLeased'] as const

const DEFAULT_LEASE_MS = 10_000
const DEFAULT_WAIT_MS = 5_000

export interface LeasePlan {
  /** `singleFlight: 'distributed'`: a miss waits for the replica holding the lease instead of computing too. */
  readonly distributed: boolean
  /** How long a lease lives unless extended, ms; the holder extends it every third of that. */
  readonly ttlMs: number
  /** How long a waiter polls before it takes one more try for the lease and then decides, ms. */
  readonly waitMs: number
  /** After `waitMs`: run `fn` here (not stored), or throw a TimeoutError. */
  readonly onTimeout: 'compute' | 'throw'
}

/** Checks the options; `undefined` when this function's storage takes no leases. */
export function resolveLease(
  o: Record<string, unknown>,
  storage: AnyStorage,
  hardTimeoutMs: number | undefined,
): LeasePlan | undefined {
  const mode = o.singleFlight ?? 'process'
  if (mode !== 'process' && mode !== 'distributed') {
    throw new ConfigError(
      'singleFlight',
      `cacheValue: singleFlight must be 'process' (default: one computation per key in this process) or 'distributed' (one across every replica sharing the storage), got ${describe(mode)}`,
    )
  }
  const distributed = mode === 'distributed'
  if (!distributed) {
    for (const option of ['waitTimeout', 'onLeaseTimeout'] as const) {
      if (o[option] !== undefined) {
        throw new ConfigError(option, `cacheValue: ${option} applies only with singleFlight: 'distributed'`)
      }
    }
  }
  const s = storage as unknown as Record<string, unknown>
  const missing = LEASE_MEMBERS.filter((member) => typeof s[member] !== 'function')
  if (missing.length > 0 && missing.length < LEASE_MEMBERS.length) {
    throw new ConfigError(
      'storage',
      `cacheValue: the ${storage.name} storage has ${LEASE_MEMBERS.filter((m) => !missing.includes(m)).join(', ')} but not ${missing.join(', ')}; a storage implements all four lease members or none`,
    )
  }
  if (distributed && (!storage.async || missing.length > 0)) {
    throw new ConfigError(
      'singleFlight',
      `cacheValue: singleFlight: 'distributed' needs an async storage shared by the replicas with the lease members (acquireLease, releaseLease, extendLease, setIfLeased); the ${storage.name} storage ${storage.async ? `lacks ${missing.join(', ')}` : 'is synchronous (one process)'}`,
    )
  }
  const ttlMs = o.lease === undefined ? DEFAULT_LEASE_MS : parseDuration(o.lease, 'lease')
  if (!storage.async || missing.length > 0) {
    if (o.lease === undefined) return undefined
    throw new ConfigError(
      'lease',
      `cacheValue: lease applies only over an async storage with the lease members; the ${storage.name} storage has none, so remove the option`,
    )
  }
  return Object.freeze({
    distributed,
    ttlMs,
    waitMs:
      o.waitTimeout === undefined ? (hardTimeoutMs ?? DEFAULT_WAIT_MS) : parseDuration(o.waitTimeout, 'waitTimeout'),
    onTimeout: resolveOnTimeout(o.onLeaseTimeout),
  })
}

function resolveOnTimeout(value: unknown): LeasePlan['onTimeout'] {
  if (value === undefined || value === 'compute' || value === 'throw') return value ?? 'compute'
  throw new ConfigError(
    'onLeaseTimeout',
    `cacheValue: onLeaseTimeout must be 'compute' (default: run fn here, result not stored) or 'throw' (a TimeoutError), got ${describe(value)}`,
  )
}

// A lease token only has to be unique (it fences writes; it guards no secret): a random part drawn once per process
// and a counter, 32 hex characters until 2^32 leases, instead of 16 random bytes per miss (randomFillSync was about
// 2% of a Redis miss's CPU). Another process draws another random part.
const TOKEN_BASE = randomBytes(12).toString('hex')
let tokensIssued = 0
export const newToken = (): string => TOKEN_BASE + (tokensIssued++).toString(16).padStart(8, '0')

type LeaseOp = 'acquireLease' | 'releaseLease' | 'extendLease'

/** One lease operation; a failure is reported and answers `undefined` (never thrown: leases fail open). */
export async function leaseOp(
  plan: Plan,
  op: LeaseOp,
  key: string,
  token: string,
  ttl = (plan.lease as LeasePlan).ttlMs,
): Promise<boolean | undefined> {
  const storage = plan.storage as Required<AsyncStorage>
  try {
    if (op === 'releaseLease') return await storage.releaseLease(plan.namespace, key, token)
    return await storage[op](plan.namespace, key, token, ttl)
  } catch (error) {
    const failure = toStorageError(plan.storage, op, error)
    plan.report(op, plan.namespace, key, failure)
    if (eventChannel.hasSubscribers) publishEvent(plan.event('lease-unavailable', key, failure))
    return undefined
  }
}

/**
 * An acquire that failed may still have been applied (its reply timed out): held by nobody, that lease would keep
 * every replica from storing the key until it lapses. Released best-effort, unreported: the failure was.
 */
export function releaseQuietly(plan: Plan, key: string, token: string): void {
  const storage = plan.storage as Required<AsyncStorage>
  Promise.resolve()
    .then(() => storage.releaseLease(plan.namespace, key, token))
    .catch(() => undefined)
}

/** Releases the flight's lease if it still holds one (every exit path but a fenced write that landed). */
export function endLease(plan: Plan, flight: Flight): void {
  const token = flight.lease
  if (token === undefined) return
  flight.lease = undefined
  void leaseOp(plan, 'releaseLease', flight.key, token)
}

export function leaseEvent(plan: Plan, type: EventType, key: string): void {
  if (eventChannel.hasSubscribers) publishEvent(plan.event(type, key))
}
