/**
 * A tier's L1: L2 entries kept in a memory storage in its own slot form (value, createdAt, meta; the entry's own
 * expiry kept beside when it differs), each slot expiring at `min(expiresAt, staleAt, written-to-L1 + maxL1Age)`,
 * so the memory storage's own expiry and LRU enforce the staleness bound and the size bound, and cacheValue's
 * memory hit paths can read the L1 directly (tiered-hits.ts).
 *
 * Promotions race with invalidations: an L2 read that started before a write, delete, clear or bus message touching
 * its key, or while a write of it ran, may return what that invalidation replaced; and writes race each other: a set
 * issued before a delete may be acknowledged after it. A logical clock orders them: each write or invalidation takes
 * a tick (per key while an operation on that key is running, else for everything), and a read promotes, or a write
 * stores its value, only if nothing touching its key ticked since it began. A promotion never replaces a newer L1
 * entry (by createdAt) either.
 */
import type { MemoryInternals } from './memory-slots'
import type { Entry, Storage } from './storage'

/** A read or write of L2 in progress: what the L1 update after it is checked against. */
export interface L2Op {
  readonly namespace: string
  readonly key: string
  readonly id: string
  readonly start: number
}

export interface L1 {
  /** The entry L1 holds for the key, or undefined (absent, past its bound, or dropped). */
  read(namespace: string, key: string): Entry | undefined
  /** Marks the start of an L2 read of the key. */
  beginRead(namespace: string, key: string): L2Op
  /** Ends the read; promotes `entry` unless an invalidation of its key came since it began (or it's undefined). */
  endRead(read: L2Op, entry: Entry | undefined): void
  /**
   * Marks the start of an L2 write of the key: running reads won't promote, and the L1 copy is dropped until the
   * write ends (a failed write leaves none).
   */
  beginWrite(namespace: string, key: string): L2Op
  /**
   * Ends the write; stores `entry` (what L2 accepted) unless an operation on its key was issued (or another write
   * of it ended) since the write began: L2 applies them in order, so the later one decides what L1 may hold. Reads
   * of the key still running won't promote. When it stores nothing, the key's L1 copy (one a read issued during
   * the write promoted) is dropped.
   */
  endWrite(write: L2Op, entry: Entry | undefined): void
  /** Drops a key's copy, and stops running reads of it from promoting what they find. */
  drop(namespace: string, key: string): void
  /** Drops a namespace (or the keys in it starting with `prefix`), and stops running reads from promoting. */
  clear(namespace: string, prefix?: string): void
  /** Drops every entry, and stops running reads from promoting. */
  flush(): void
}

export function createL1(storage: Storage, internals: MemoryInternals, maxL1Age: number): L1 {
  let clock = 0
  // The last tick of an invalidation that touched every key.
  let broad = 0
  // Per key, only while an L2 read of it runs: the last tick of an invalidation of that key.
  const touched = new Map<string, number>()
  const reading = new Map<string, number>()
  // The namespaces this L1 holds entries of: what a flush clears.
  const namespaces = new Set<string>()
  // Namespaces may hold any character, so the length keeps (namespace, key) pairs apart.
  const idOf = (namespace: string, key: string): string => `${namespace.length}:${namespace}${key}`
  const touch = (namespace: string, key: string): void => {
    const id = idOf(namespace, key)
    if (reading.has(id)) touched.set(id, ++clock)
  }
  const read = (namespace: string, key: string): Entry | undefined => storage.get(namespace, key) as Entry | undefined
  const store = (namespace: string, key: string, entry: Entry): void => {
    const now = Date.now()
    let until = now + maxL1Age
    if (entry.expiresAt !== undefined && entry.expiresAt < until) until = entry.expiresAt
    const staleAt = entry.meta?.staleAt
    if (staleAt !== undefined && staleAt < until) until = staleAt
    if (until <= now) {
      // Already past its bound: the L2 copy answers, and an older L1 copy must not.
      storage.delete(namespace, key)
      return
    }
    namespaces.add(namespace)
    internals.writeEntry(namespace, key, entry, until)
  }
  // Registers an operation on a key; a write is itself an invalidation of what runs before it.
  const begin = (namespace: string, key: string, writes: boolean): L2Op => {
    const id = idOf(namespace, key)
    reading.set(id, (reading.get(id) ?? 0) + 1)
    if (writes) touched.set(id, ++clock)
    return { namespace, key, id, start: clock }
  }
  // Unregisters it; true when nothing touching its key came since it began. A write's end touches the key again:
  // an L2 that runs operations concurrently (a pool) may answer a read issued during the write with what it held
  // before, whose createdAt may tie with, or on a skewed clock pass, the write's.
  const end = (op: L2Op, writes: boolean): boolean => {
    const left = (reading.get(op.id) ?? 1) - 1
    const last = touched.get(op.id) ?? 0
    const clean = broad <= op.start && last <= op.start
    if (left === 0) {
      reading.delete(op.id)
      touched.delete(op.id)
    } else {
      reading.set(op.id, left)
      if (writes) touched.set(op.id, ++clock)
    }
    return clean
  }
  return {
    read,
    beginRead: (namespace, key) => begin(namespace, key, false),
    endRead(r, entry) {
      if (!end(r, false) || entry === undefined) return
      const current = read(r.namespace, r.key)
      if (current !== undefined && current.createdAt > entry.createdAt) return
      store(r.namespace, r.key, entry)
    },
    beginWrite(namespace, key) {
      const op = begin(namespace, key, true)
      storage.delete(namespace, key)
      return op
    },
    endWrite(w, entry) {
      if (end(w, true) && entry !== undefined) store(w.namespace, w.key, entry)
      // A read issued during the write may have promoted what the L2 held before it (a pool answers it first):
      // whatever the write doesn't store, the key keeps no copy of.
      else storage.delete(w.namespace, w.key)
    },
    drop(namespace, key) {
      touch(namespace, key)
      storage.delete(namespace, key)
    },
    clear(namespace, prefix) {
      broad = ++clock
      storage.clear(namespace, prefix)
    },
    flush() {
      broad = ++clock
      for (const namespace of namespaces) storage.clear(namespace)
      namespaces.clear()
    },
  }
}
