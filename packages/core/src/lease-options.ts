/**
 * The `singleFlight`, `lease`, `waitTimeout` and `onLeaseTimeout` options, resolved once into a LeasePlan. Leases
 * are used only over an async storage that has every lease member: a sync storage lives in one process, where the
 * flights already give one computation per key and keep invalidated results out.
 */
import { describe } from './describe'
import { parseDuration } from './duration'
import { ConfigError } from './errors'
import type { AnyStorage } from './storage'

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
