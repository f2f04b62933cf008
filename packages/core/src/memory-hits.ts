import { NO_SCAN, scanArgs } from './arg-scan'
import { countScan, createRecentHits, findRecent, type RecentHits, rememberRecent, shouldScan } from './arg-scan-recent'
import { type MemoryInternals, MISS, type Table, WithMeta } from './memory'
import { callObserved } from './observe'

/**
 * The hit paths over a memory storage that skip the key string: a one-number argument list reads the function's
 * number table by the number itself, and by-value arguments are found by an argument scan among recently hit
 * lists (see arg-scan.ts). Both read what the key-string path would read: the number table holds exactly the keys
 * the storage routes there (`route` in memory.ts), and a by-value hit is confirmed against the stored key.
 */
export interface MemoryHitPlan {
  readonly internals: MemoryInternals
  readonly namespace: string
  /** `'<escaped name>:'`, the start of every key of the function. */
  readonly keyPrefix: string
  /** Both fast paths need the plain key encoding (no `typed`, `key`, `ignoreArgs`). */
  readonly plainKeys: boolean
  /** Type encoders can claim plain objects and arrays (`instanceof Object`), so they turn the by-value path off. */
  readonly byValue: boolean
  /** `fn` is an `async function`: every hit returns a Promise. */
  readonly isAsyncFn: boolean
  /** What a hit returns for what a slot holds (a Promise or not), or NOT_FRESH: the slow path decides. */
  readonly fromSlot: (held: unknown) => unknown
}

/** The hit slot of the last key-string read, kept so a by-value hit can be remembered without a second lookup. */
export interface SlotReader {
  /** What the slot of `key` holds, or MISS; the slot found is kept for `remember`. */
  read(key: string): unknown
  /** Remembers the argument list just scanned (hash `h`) for the slot `read` last found. */
  remember(h: number): void
}

/** Returned by `fromSlot` for an entry past its freshness: the key-string path serves it stale or recomputes. */
export const NOT_FRESH: unique symbol = Symbol('memokit.not-fresh')

// Written by the key-string read; see there.
// biome-ignore lint/correctness/noUnusedVariables: the write keeps the flattening read from being optimized away
let flattened = 0

export function createSlotReader(plan: MemoryHitPlan): SlotReader & { readonly recent: () => RecentHits } {
  const { internals, namespace, keyPrefix, isAsyncFn } = plan
  const generic = internals.genericTable(namespace)
  const openList = `${keyPrefix}[`
  let lastSlot = 0
  let recent: RecentHits | undefined
  return {
    read(key) {
      // A freshly built key is a V8 cons string: reading a character flattens it once, which makes the Map
      // lookup that follows about twice as fast (bench S2). Stored, so it can't be optimized away.
      flattened = key.charCodeAt(0)
      lastSlot = internals.slotOfKey(namespace, key)
      if (lastSlot === 0) return MISS
      const held = internals.readSlot(lastSlot)
      // A sync function's caller must see whether the value came from a Promise; an async one's always gets one.
      return held === MISS || isAsyncFn ? held : internals.heldAt(lastSlot)
    },
    remember(h) {
      // The stored key string itself, not the equal one just built: hits then compare it by reference. A slot of
      // a number table has no string key in the generic table and is not remembered.
      const stored = internals.keyAt(generic, lastSlot)
      if (typeof stored === 'string' && recent !== undefined) rememberRecent(recent, h, lastSlot, stored, openList)
    },
    recent: () => {
      recent ??= createRecentHits()
      return recent
    },
  }
}

/**
 * The wrapper over a memory storage: the fast paths first, then `run` (the key-string path, which reads through
 * `reader.read` and remembers by-value hits when it is given the scan's hash).
 *
 * Observation costs these paths no test: while `memokit:call` has subscribers every table's flags are set
 * (memory-route.ts), so a hit goes through `plan.fromSlot`, which answers NOT_FRESH when observed, and `run`, which
 * takes the observed path then. Both must do so.
 */
export function memoryWrapper(
  plan: MemoryHitPlan,
  reader: ReturnType<typeof createSlotReader>,
  run: (self: unknown, args: unknown[], h: number) => unknown,
): (this: unknown, ...args: unknown[]) => unknown {
  const { internals, namespace, keyPrefix, byValue, isAsyncFn } = plan
  // Read only when a table's flags send a hit here: an observed call then goes the key-string way, to `run`.
  const fromSlot = (held: unknown): unknown => (callObserved ? NOT_FRESH : plan.fromSlot(held))
  if (!plan.plainKeys) {
    return function cached(this: unknown, ...args: unknown[]): unknown {
      return run(this, args, NO_SCAN)
    }
  }
  const numbers: Table = internals.numberTable(namespace, keyPrefix)
  const generic: Table = internals.genericTable(namespace)
  const { read, keyAt, readSlot, heldAt, numberSlot } = internals
  const other = function (this: unknown, ...args: unknown[]): unknown {
    let h = NO_SCAN
    if (byValue) {
      const recent = reader.recent()
      if (shouldScan(recent)) {
        h = scanArgs(args)
        if (h !== NO_SCAN) {
          const i = findRecent(recent, h)
          // The slot must still hold the remembered entry: it may have been deleted, evicted or reused since.
          if (i !== -1) {
            const slot = recent.slots[i] as number
            if (keyAt(generic, slot) === recent.keys[i]) {
              const held = readSlot(slot)
              if (held !== MISS) {
                // As on the number path: the table's flags say when a slot can hold only a plain value.
                if (isAsyncFn ? !generic.hasTimeline : !generic.hasMeta) {
                  countScan(recent, true)
                  if (!isAsyncFn) return held
                  if (!generic.hasBox) return Promise.resolve(held)
                  return Promise.resolve(held instanceof WithMeta ? held.value : held)
                }
                const hit = fromSlot(isAsyncFn || !generic.hasPromised ? held : heldAt(slot))
                if (hit !== NOT_FRESH) {
                  countScan(recent, true)
                  return hit
                }
              }
            }
          }
        }
        countScan(recent, false)
      }
    }
    return run(this, args, h)
  }
  return function cached(this: unknown): unknown {
    // `arguments` read in place, never stored or passed on but by `apply`: then V8 allocates no arguments object,
    // and the one-number path allocates nothing (bench S1).
    // biome-ignore lint/complexity/noArguments: as above
    if (arguments.length === 1) {
      // biome-ignore lint/complexity/noArguments: as above
      const a: unknown = arguments[0]
      if (typeof a === 'number') {
        if (a !== 0 || 1 / a > 0) {
          const held = read(numbers, a)
          if (held !== MISS) {
            if (isAsyncFn) {
              // An async function's hits are Promises whatever the slot says: a table that never held a box (sync
              // or Promise results, no timeline) needs no test at all, one without a timeline only the unwrap.
              if (!numbers.hasBox) return Promise.resolve(held)
              if (!numbers.hasTimeline) return Promise.resolve(held instanceof WithMeta ? held.value : held)
            } else if (!numbers.hasMeta) return held
            // A sync function sharing the table with an async one returns a Promise for a Promise's result.
            const hit = fromSlot(isAsyncFn || !numbers.hasPromised ? held : heldAt(numberSlot(numbers, a)))
            if (hit !== NOT_FRESH) return hit
          }
        }
        return run(this, [a], NO_SCAN)
      }
    }
    // biome-ignore lint/complexity/noArguments: as above
    return other.apply(this, arguments as unknown as unknown[])
  }
}
