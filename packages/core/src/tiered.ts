import type { BusInvalidation } from './bus-protocol'
import { storageClosed } from './clear-retry'
import { invalidateFlights } from './identity'
import { LEASE_MEMBERS } from './lease-options'
import type { AnyStorage, AsyncStorage, Entry, SetOptions } from './storage'
import { createEventSink } from './tiered-events'
import { registerTiered } from './tiered-hits'
import { createL1 } from './tiered-l1'
import { type BusLink, connectBus } from './tiered-link'
import { resolveTiered, type TieredFlushReason, type TieredStorageOptions } from './tiered-options'

export type { TieredEvent, TieredFlushReason, TieredStorageOptions } from './tiered-options'

/** An {@link AsyncStorage} made of an in-process L1 in front of a shared L2; see {@link tieredStorage}. */
export interface TieredStorage extends AsyncStorage {
  /**
   * Settles once the first bus subscription attempt has (the L1 is in use from the transport's first `'up'`);
   * at once without a bus. Never rejects: a failed subscription is reported and retried every `heartbeat`.
   */
  readonly ready: Promise<void>
  /** Whether reads may be answered from the L1 right now (always true without a bus). */
  readonly l1Active: boolean
  /**
   * Stops the heartbeat and unsubscribes, and ends the background clear retries this tier stands for (see
   * `storageClosed`). The L1, the L2 and the bus were passed in and stay open.
   */
  close(): Promise<void>
}

/**
 * A two-tier storage: reads try the in-process L1 (a memory storage), then the shared L2, copying what L2 returns
 * into L1 with its original createdAt, expiry and metadata. Writes, deletes and clears go to L2 first, then L1, and
 * are published on the bus so other replicas drop their L1 copies.
 *
 * The guarantee: an L1 copy is never served past `min(staleAt, written-to-L1 + maxL1Age)`, whatever the bus does;
 * while the bus is down, or silent (this replica's own heartbeats stop coming back), reads bypass the L1; after a
 * (re)subscription or a lost message, every L1 entry written before is dropped. When `set`, `delete` or `clear`
 * resolves, this replica's L1 already reflects it. A failed L2 delete or clear still updates L1 and publishes
 * (then rethrows); a failed L2 write leaves L1 without the value and publishes too (it may have landed).
 *
 * @example
 * const storage = tieredStorage({
 *   l1: memoryStorage({ maxEntries: 10_000 }),
 *   l2: redisStorage({ client }),
 *   bus: redisBus({ client }),
 * })
 */
export function tieredStorage(options: TieredStorageOptions): TieredStorage {
  // One closure per tier, longer than a usual function: every operation shares its L1, its race clock and its link.
  const resolved = resolveTiered(options)
  const { l2, onEvent } = resolved
  const l1 = createL1(resolved.l1, resolved.internals, resolved.maxL1Age)
  const emit = createEventSink(() => tier.name, onEvent)
  const apply = (invalidation: BusInvalidation): void => {
    if (invalidation.kind === 'heartbeat') return
    if (invalidation.kind === 'tags') {
      // Tags are not held per entry yet: dropping everything is the answer that is never stale.
      flushed('tags')
      return
    }
    const { namespace } = invalidation
    if (invalidation.kind === 'keys') {
      for (const key of invalidation.keys) l1.drop(namespace, key)
      // A computation here that started before another replica's delete must not store what it read before.
      if (invalidation.op === 'delete') invalidateFlights(tier, namespace, invalidation.keys)
      return
    }
    l1.clear(namespace, invalidation.kind === 'prefix' ? invalidation.prefix : undefined)
    // Flights are found by key, not prefix: a function clear stops every computation of the namespace from storing
    // (they still return), which costs at most a recomputation and never stores what the clear removed.
    invalidateFlights(tier, namespace)
  }
  let link: BusLink | undefined
  const usable = (): boolean => link === undefined || link.usable()
  const publish = (invalidation: BusInvalidation): void => link?.publish(invalidation)

  const readThrough = async (namespace: string, key: string): Promise<Entry | undefined> => {
    const read = l1.beginRead(namespace, key)
    let entry: Entry | undefined
    try {
      entry = await l2.get(namespace, key)
    } finally {
      l1.endRead(read, entry !== undefined && usable() ? entry : undefined)
    }
    return entry
  }
  // The keys L1 doesn't answer, in one L2 call (getMany when the L2 has it), each promoted as a single read is.
  const readManyThrough = async (namespace: string, keys: readonly string[], found: (Entry | undefined)[]) => {
    const missing = found.flatMap((entry, i) => (entry === undefined ? [i] : []))
    const missed = missing.map((i) => keys[i] as string)
    const reads = missed.map((key) => l1.beginRead(namespace, key))
    let entries: (Entry | undefined)[] | undefined
    try {
      entries = await (l2.getMany === undefined
        ? Promise.all(missed.map((key) => l2.get(namespace, key)))
        : l2.getMany(namespace, missed))
    } finally {
      const promote = entries !== undefined && usable()
      reads.forEach((read, j) => {
        l1.endRead(read, promote ? entries?.[j] : undefined)
      })
    }
    missing.forEach((i, j) => {
      found[i] = entries?.[j]
    })
    return found
  }
  // What this replica wrote, as L1 holds it: stamped before the L2 write, so the copy never outlives L2's.
  const written = (value: unknown, options: SetOptions | undefined, now: number): Entry => {
    const expiresAt = options?.ttl === undefined ? undefined : now + options.ttl
    return options?.meta === undefined
      ? { value, createdAt: now, expiresAt }
      : { value, createdAt: now, expiresAt, meta: options.meta }
  }
  // L2 first, then L1 (unless a later operation on the key was issued meanwhile), then the other replicas.
  const writeThrough = async (
    namespace: string,
    key: string,
    value: unknown,
    options: SetOptions | undefined,
    write: () => Promise<boolean>,
  ): Promise<boolean> => {
    const now = Date.now()
    const op = l1.beginWrite(namespace, key)
    let wrote: boolean
    try {
      wrote = await write()
    } catch (error) {
      l1.endWrite(op, undefined)
      // A failed write may still have landed (a timeout after the server applied it): the other replicas drop
      // their copies as after a write. A needless message costs them one L2 read; a missing one, stale reads.
      publish({ kind: 'keys', op: 'set', namespace, keys: [key] })
      throw error
    }
    l1.endWrite(op, wrote && usable() ? written(value, options, now) : undefined)
    if (wrote) publish({ kind: 'keys', op: 'set', namespace, keys: [key] })
    return wrote
  }

  const tier: TieredStorage = {
    async: true,
    name: `tiered(${l2.name})`,
    ...(l2.scope === undefined ? {} : { scope: l2.scope }),
    get(namespace, key) {
      if (usable()) {
        const entry = l1.read(namespace, key)
        if (entry !== undefined) return Promise.resolve(entry)
      }
      return readThrough(namespace, key)
    },
    getMany(namespace, keys) {
      const found: (Entry | undefined)[] = keys.map((key) => (usable() ? l1.read(namespace, key) : undefined))
      if (found.every((entry) => entry !== undefined)) return Promise.resolve(found)
      return readManyThrough(namespace, keys, found)
    },
    async set(namespace, key, value, options) {
      await writeThrough(namespace, key, value, options, async () => {
        await l2.set(namespace, key, value, options)
        return true
      })
    },
    async delete(namespace, key) {
      l1.drop(namespace, key)
      try {
        return await l2.delete(namespace, key)
      } finally {
        l1.drop(namespace, key)
        publish({ kind: 'keys', op: 'delete', namespace, keys: [key] })
      }
    },
    async clear(namespace, prefix) {
      try {
        await l2.clear(namespace, prefix)
      } finally {
        l1.clear(namespace, prefix)
        publish(prefix === undefined ? { kind: 'namespace', namespace } : { kind: 'prefix', namespace, prefix })
      }
    },
    get ready() {
      return link === undefined ? Promise.resolve() : link.ready
    },
    get l1Active() {
      return usable()
    },
    async close() {
      storageClosed(tier)
      await link?.close()
    },
  }
  const add = l2.add
  if (add !== undefined) {
    tier.add = (namespace, key, value, options) =>
      writeThrough(namespace, key, value, options, () => add.call(l2, namespace, key, value, options))
  }
  if (LEASE_MEMBERS.every((member) => typeof l2[member] === 'function')) {
    // Leases live in L2, the storage the replicas share; a fenced write lands in L1 and on the bus like a set.
    const leases = l2 as Required<AnyStorage>
    tier.acquireLease = async (namespace, key, token, ttl) => leases.acquireLease(namespace, key, token, ttl)
    tier.releaseLease = async (namespace, key, token) => leases.releaseLease(namespace, key, token)
    tier.extendLease = async (namespace, key, token, ttl) => leases.extendLease(namespace, key, token, ttl)
    tier.setIfLeased = (namespace, key, value, token, options) =>
      writeThrough(namespace, key, value, options, async () =>
        leases.setIfLeased(namespace, key, value, token, options),
      )
  }
  registerTiered(tier, resolved.internals, usable)
  if (resolved.bus !== undefined) link = connectBus(resolved, { apply, flush: (reason) => flushed(reason), emit })
  function flushed(reason: TieredFlushReason): void {
    l1.flush()
    emit({ type: 'flush', reason })
  }
  return tier
}
