/**
 * The memory storage's internal fast-read contract with core: what a slot holds (a value, or a WithMeta around
 * it), the tables keys are routed to, and the slot-level reads cacheValue's hit paths use. Not public.
 */
import type { EntryMeta } from './storage'

/** Returned by the internal fast read on a miss (a stored value may be `undefined`). */
export const MISS: unique symbol = Symbol('memokit.miss')

/**
 * How a value written with metadata sits in its slot. The fast reads return slot contents as they are, so core
 * tests `instanceof WithMeta` on a hit; values written without metadata (every sync result) pay nothing.
 */
export class WithMeta {
  constructor(
    readonly value: unknown,
    readonly meta: EntryMeta,
    /** When the entry was written, ms since the epoch. */
    readonly createdAt: number,
  ) {}
}

/**
 * One (namespace, function) table of entries whose key is a single-number argument list, keyed by the number
 * itself; or a namespace's generic table keyed by the full key string (`prefix` undefined).
 */
export interface Table {
  readonly id: number
  readonly prefix: string | undefined
  readonly map: Map<unknown, number>
  /**
   * Set once a value with metadata (a WithMeta) was written to this table, and never reset: while false, a slot of
   * this table holds a plain value, and a hit skips the `instanceof` test (a tenth of an S1 hit).
   */
  hasMeta: boolean
  /** Set once a value whose metadata has a timeline (`staleAt`) was written to this table; never reset. */
  hasTimeline: boolean
}

/** What core's cacheValue uses to read this storage without building key strings. Not public. */
export interface MemoryInternals {
  // Every read below returns what the slot holds: the value, or a WithMeta around it.
  /** The stable table for single-number keys of one function (`prefix` is `'<escaped name>:'`). */
  numberTable(namespace: string, prefix: string): Table
  /** The value under `raw` in `table`, or MISS. Checks expiry and marks the entry recently used. */
  read(table: Table, raw: unknown): unknown
  /** The stable table of a namespace's keys that are not one number. */
  genericTable(namespace: string): Table
  /**
   * The slot holding `key` of `namespace`, routed exactly as `get` and `set` route it, or 0. Slots are reused:
   * hold one only as a hint, checked by `keyAt`.
   */
  slotOfKey(namespace: string, key: string): number
  /** The key of the live entry in slot `slot` if that entry belongs to `table`, else undefined. */
  keyAt(table: Table, slot: number): unknown
  /** What slot `slot` holds, or MISS when it expired. Checks expiry and marks the entry recently used. */
  readSlot(slot: number): unknown
}
