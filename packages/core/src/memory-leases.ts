/**
 * The memory storage's leases (`acquireLease` and friends of the storage contract): per namespace, a map from key
 * to the holding token and its deadline. Kept apart from the entry slots, so `get` never sees a lease and a
 * storage that never took one pays nothing on reads; `delete` and `clear` look here only while `count` is not 0.
 */
import { checkLeaseArgs } from './lease-args'

interface Lease {
  readonly token: string
  /** Deadline, ms since the epoch on the storage's clock (`Date.now()`). */
  until: number
}

/** The leases of one memory storage. Every member is synchronous, so each is atomic in this process. */
export interface MemoryLeases {
  /** Leases kept, expired ones not yet swept included; 0 when none was taken (or all were removed). */
  readonly count: number
  /** Takes the lease on `key` for `ttl` ms unless a live one is held; `true` when taken. */
  acquire(ns: string, key: string, token: string, ttl: number): boolean
  /** Removes the lease while `token` holds it; `true` when removed. */
  release(ns: string, key: string, token: string): boolean
  /** Restarts the lease at `ttl` ms from now while `token` holds it; `true` when it did. */
  extend(ns: string, key: string, token: string, ttl: number): boolean
  /** Whether `token` holds a live lease on `key` (checked before a fenced write, removed with {@link drop}). */
  holds(ns: string, key: string, token: string): boolean
  /** Removes the lease on `key`, whoever holds it (`delete`, and a fenced write that landed). */
  drop(ns: string, key: string): void
  /** Removes the leases of `ns`, or of its keys that start with `keyPrefix` (`clear`). */
  clear(ns: string, keyPrefix?: string): void
}

// Leases nobody released are swept once their number doubles since the last sweep, from this many on.
const FIRST_SWEEP = 256

/** Creates the lease table of one memory storage (`name` labels its errors). */
export function createMemoryLeases(name: string): MemoryLeases {
  const byNamespace = new Map<string, Map<string, Lease>>()
  let count = 0
  let sweepAt = FIRST_SWEEP

  /** The live lease on `key`, after dropping an expired one. */
  const live = (ns: string, key: string): Lease | undefined => {
    const leases = byNamespace.get(ns)
    const lease = leases?.get(key)
    if (lease === undefined) return undefined
    if (lease.until > Date.now()) return lease
    remove(leases as Map<string, Lease>, ns, key)
    return undefined
  }
  const remove = (leases: Map<string, Lease>, ns: string, key: string): void => {
    if (!leases.delete(key)) return
    count--
    if (leases.size === 0) byNamespace.delete(ns)
  }
  const sweep = (): void => {
    const now = Date.now()
    for (const [ns, leases] of byNamespace) {
      for (const [key, lease] of leases) if (lease.until <= now) remove(leases, ns, key)
    }
    sweepAt = Math.max(FIRST_SWEEP, 2 * count)
  }
  const held = (ns: string, key: string, token: string): Lease | undefined => {
    checkLeaseArgs(name, token)
    const lease = live(ns, key)
    return lease?.token === token ? lease : undefined
  }

  return {
    get count() {
      return count
    },
    acquire(ns, key, token, ttl) {
      checkLeaseArgs(name, token, ttl)
      if (live(ns, key) !== undefined) return false
      let leases = byNamespace.get(ns)
      if (leases === undefined) {
        leases = new Map()
        byNamespace.set(ns, leases)
      }
      leases.set(key, { token, until: Date.now() + ttl })
      if (++count >= sweepAt) sweep()
      return true
    },
    release(ns, key, token) {
      if (held(ns, key, token) === undefined) return false
      remove(byNamespace.get(ns) as Map<string, Lease>, ns, key)
      return true
    },
    extend(ns, key, token, ttl) {
      checkLeaseArgs(name, token, ttl)
      const lease = held(ns, key, token)
      if (lease === undefined) return false
      lease.until = Date.now() + ttl
      return true
    },
    holds: (ns, key, token) => held(ns, key, token) !== undefined,
    drop(ns, key) {
      const leases = byNamespace.get(ns)
      if (leases !== undefined) remove(leases, ns, key)
    },
    clear(ns, keyPrefix) {
      const leases = byNamespace.get(ns)
      if (leases === undefined) return
      for (const key of leases.keys()) {
        if (keyPrefix === undefined || key.startsWith(keyPrefix)) remove(leases, ns, key)
      }
    },
  }
}
