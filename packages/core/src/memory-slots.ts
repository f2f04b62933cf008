/**
 * The memory storage's internal fast-read contract with core: what a slot holds (a value, or a WithMeta around
 * it), the tables keys are routed to, and the slot-level reads cacheValue's hit paths use. Not public.
 */
import type { Entry, EntryMeta } from './storage'

/** Returned by the internal fast read on a miss (a stored value may be `undefined`). */
export const MISS: unique symbol = Symbol('memokit.miss')

/**
 * How a value written with metadata other than `{ promise: true }` sits in its slot, and how `heldAt` presents a
 * value flagged as a Promise's result. Core tests `instanceof WithMeta` where a table's flags say a slot may need
 * it; values written without metadata (every sync result) and Promise results pay nothing.
 */
export class WithMeta {
  constructor(
    readonly value: unknown,
    readonly meta: EntryMeta,
    /** When the entry was written, ms since the epoch. */
    readonly createdAt: number,
    /**
     * The entry's own expiry (ms since the epoch, Infinity for none) when the slot's expiry ends earlier: a tier's
     * L1 keeps an L2 entry only up to its staleness bound, yet hands the entry back as L2 wrote it.
     */
    readonly expiresAt?: number,
  ) {}
}

/** The metadata that becomes a per-slot flag instead of a box: exactly `{ promise: true }`. */
export function isPromiseOnly(meta: EntryMeta): boolean {
  if (meta.promise !== true) return false
  for (const name in meta) if (name !== 'promise') return false
  return true
}

/**
 * One (namespace, function) table of entries whose key is a single-number argument list, keyed by the number
 * itself; or a namespace's generic table keyed by the full key string (`prefix` undefined). The flags are set by
 * writes and never reset; while one is false, the hit paths skip the test it guards.
 */
export interface Table {
  readonly id: number
  readonly namespace: string
  readonly prefix: string | undefined
  /** The generic table's key string → slot; undefined for a number table (the storage hashes numbers itself). */
  readonly map: Map<string, number> | undefined
  /** Ever held a WithMeta or a Promise's result: a sync reader must look at the slot (a tenth of an S1 hit). */
  hasMeta: boolean
  /** Ever held a WithMeta: an async reader must unwrap. */
  hasBox: boolean
  /** Ever held a value flagged as a Promise's result: a sync reader asks `heldAt` for the shape. */
  hasPromised: boolean
  /** Ever held a WithMeta whose metadata has a timeline (`staleAt`). */
  hasTimeline: boolean
  /** Live entries: an empty table that is not `pinned` is dropped, so tables do not pile up with namespaces. */
  count: number
  /** Handed out by `numberTable` or `genericTable`: a hit path holds it, so it stays while empty. */
  pinned: boolean
}

/** What core's cacheValue uses to read this storage without building key strings. Not public. */
export interface MemoryInternals {
  /** The stable table for single-number keys of one function (`prefix` is `'<escaped name>:'`). */
  numberTable(namespace: string, prefix: string): Table
  /**
   * The value under the number `raw` in the number table `table` (a WithMeta when written with metadata other than
   * `{ promise: true }`), or MISS. Checks expiry and marks the entry recently used.
   */
  read(table: Table, raw: number): unknown
  /** The slot of the number `raw` in the number table `table`, or 0; no expiry check. */
  numberSlot(table: Table, raw: number): number
  /** The stable table of a namespace's keys that are not one number. */
  genericTable(namespace: string): Table
  /**
   * The slot holding `key` of `namespace`, routed exactly as `get` and `set` route it, or 0. Slots are reused:
   * hold one only as a hint, checked by `keyAt`.
   */
  slotOfKey(namespace: string, key: string): number
  /** The key of the live entry in slot `slot` if that entry belongs to `table`, else undefined. */
  keyAt(table: Table, slot: number): unknown
  /** What slot `slot` holds (as `read`), or MISS when it expired. Checks expiry and marks the entry recently used. */
  readSlot(slot: number): unknown
  /**
   * What a live slot holds in the form the slow path reads: a WithMeta with `{ promise: true }` for a value flagged
   * as a Promise's result, else what `readSlot` returns. No expiry check.
   */
  heldAt(slot: number): unknown
  /**
   * Writes `entry` as it came from elsewhere (a tier's L2): its createdAt kept, the slot expiring at `until` (ms
   * since the epoch), and the entry's own expiresAt handed back by `get` when it differs. The slot form is the one
   * `set` writes, so the hit paths read it unchanged.
   */
  writeEntry(namespace: string, key: string, entry: Entry, until: number): void
}
