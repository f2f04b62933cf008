/**
 * The internal view of a tier's L1 that cacheValue's memory hit paths read (issue 11: the L1 hit path is the
 * memory hit path). The view's reads answer MISS while the L1 may not be read (bus down or silent), so a hit path
 * built on it falls through to the tier's own read, which decides as it always does. Not public.
 */
import { type MemoryInternals, MISS } from './memory-slots'

/** A tier's L1 as the hit paths see it. */
export interface TieredInternals {
  /** The L1 memory storage's internals, its reads gated on `usable()`. */
  readonly l1: MemoryInternals
  /** Whether the tier may answer from its L1 right now (`l1Active`); one call, no allocation. */
  usable(): boolean
}

const byStorage = new WeakMap<object, TieredInternals>()

/** The internal fast-path view of a storage made by `tieredStorage`, else undefined. */
export function tieredInternals(storage: unknown): TieredInternals | undefined {
  return byStorage.get(storage as object)
}

/** Registers `tier`'s L1 (called once by `tieredStorage`). */
export function registerTiered(tier: object, memory: MemoryInternals, usable: () => boolean): void {
  const l1: MemoryInternals = {
    ...memory,
    read: (table, raw) => (usable() ? memory.read(table, raw) : MISS),
    readSlot: (slot) => (usable() ? memory.readSlot(slot) : MISS),
  }
  byStorage.set(tier, { l1, usable })
}
