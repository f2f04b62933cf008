import { bucketShift, hashNumber } from './memory-hash'
import { createMemoryLeases } from './memory-leases'
import { type MemoryStorageOptions, resolveMemoryOptions, sizeOfValue } from './memory-options'
import { createRouter, fullKey, NO_TABLE } from './memory-route'
import { isPromiseOnly, type MemoryInternals, MISS, type Table, WithMeta } from './memory-slots'
import type { Entry, EntryMeta, SetOptions, Storage } from './storage'

export { DEFAULT_MAX_ENTRIES, type MemoryStorageOptions } from './memory-options'
export { type MemoryInternals, MISS, type Table, WithMeta } from './memory-slots'

// Storages are matched by identity, so a wrapper that spreads a memory storage into a new object (to change
// its behaviour) never takes the fast path around its own methods.
const internalsByStorage = new WeakMap<Storage, MemoryInternals>()

/** The internal fast-path interface of a storage made by {@link memoryStorage}, else undefined. */
export function memoryInternals(storage: unknown): MemoryInternals | undefined {
  return internalsByStorage.get(storage as Storage)
}

const INITIAL_CAPACITY = 64
const PROMISE_META = Object.freeze({ promise: true })
// The metadata of a box that exists only to keep an entry's own expiry (`writeEntry`); `get` reports none.
const NO_META: EntryMeta = Object.freeze({})

/**
 * The sync in-memory storage: values kept by reference (a hit costs no serialization), TTL expiry checked on
 * read, and LRU eviction past `maxEntries` (default 10,000) and, when asked, past `maxSize`. Process-local. Leases
 * (`acquireLease`, `releaseLease`, `extendLease`, `setIfLeased`) live beside the entries (memory-leases.ts), on
 * the same clock (`Date.now()`); `delete` and `clear` remove them too.
 *
 * Entries live in parallel arrays indexed by slot (value, key, table, LRU links, times as 32-bit offsets), and keys
 * that are one number are hashed by the storage itself (memory-hash.ts), so an entry costs a few bytes beyond what
 * a bare `Map` entry costs (bench S6). One closure on purpose, longer than the 250-line guide: the hit path reads
 * the arrays as closure variables, and every array is replaced when the storage grows, so splitting the state
 * into modules would put a property load in front of each read.
 */
export function memoryStorage(options: MemoryStorageOptions = {}): Storage {
  const { maxEntries, maxSize, sizeOf } = resolveMemoryOptions(options)
  const router = createRouter()
  const { tables, namespaces, find } = router
  const leases = createMemoryLeases('memory')

  // Slot 0 is the sentinel of a circular list: next[0] is the most recently used slot, prev[0] the least.
  let capacity = Math.min(INITIAL_CAPACITY, maxEntries)
  const values: unknown[] = new Array(capacity + 1)
  // A number table's key is the number, a generic table's the key string.
  const keys: unknown[] = new Array(capacity + 1)
  let tableOf = new Uint32Array(capacity + 1)
  let next = new Uint32Array(capacity + 1)
  let prev = new Uint32Array(capacity + 1)
  // The number tables' hash: bucket → first slot, slot → next slot of its bucket (0 ends a chain).
  let shift = bucketShift(capacity + 1)
  let buckets = new Uint32Array(2 ** (32 - shift))
  let chain = new Uint32Array(capacity + 1)
  // Times are ms after `epoch` in 32 bits (49 days) until a time does not fit: then every time column turns into
  // absolute ms in 64 bits (`epoch` 0). `expires` comes with the first TTL; 0 means no expiry.
  let epoch = Date.now() - 1
  let created: Uint32Array | Float64Array = new Uint32Array(capacity + 1)
  let expires: Uint32Array | Float64Array | undefined
  // Only with `maxSize`: each entry's size.
  let sizes: Uint32Array | Float64Array | undefined
  if (sizeOf !== undefined)
    sizes = maxSize <= 0xffffffff ? new Uint32Array(capacity + 1) : new Float64Array(capacity + 1)
  // With the first value a Promise resolved to: 1 marks such a value (it needs no box, bench S6).
  let promised: Uint8Array | undefined
  let totalSize = 0
  const free: number[] = []
  let used = 0
  let size = 0

  const grow = (): void => {
    const target = Math.min(capacity * 2, maxEntries)
    const copy = <T extends Uint32Array | Float64Array | Uint8Array>(from: T): T => {
      const to = new (from.constructor as new (n: number) => T)(target + 1)
      to.set(from)
      return to
    }
    values.length = target + 1
    keys.length = target + 1
    tableOf = copy(tableOf)
    next = copy(next)
    prev = copy(prev)
    chain = copy(chain)
    created = copy(created)
    if (expires) expires = copy(expires)
    if (sizes) sizes = copy(sizes)
    if (promised) promised = copy(promised)
    capacity = target
    if (bucketShift(capacity + 1) !== shift) rehash()
  }
  const rehash = (): void => {
    shift = bucketShift(capacity + 1)
    buckets = new Uint32Array(2 ** (32 - shift))
    for (let s = next[0] as number; s !== 0; s = next[s] as number) {
      if ((tables[tableOf[s] as number] as Table).map === undefined) {
        const h = hashNumber(tableOf[s] as number, keys[s] as number, shift)
        chain[s] = buckets[h] as number
        buckets[h] = s
      }
    }
  }
  const widen = (): void => {
    const absolute = (from: Uint32Array | Float64Array): Float64Array => {
      const to = new Float64Array(from.length)
      for (let s = 1; s < from.length; s++) to[s] = from[s] === 0 ? 0 : epoch + (from[s] as number)
      return to
    }
    created = absolute(created)
    if (expires) expires = absolute(expires)
    epoch = 0
  }
  // A time as the columns hold it.
  const timeOf = (ms: number): number => {
    const t = ms - epoch
    if (t >>> 0 === t && t !== 0) return t
    if (epoch !== 0) widen()
    return ms
  }
  const numberSlot = (table: Table, n: number): number => {
    const id = table.id
    let s = buckets[hashNumber(id, n, shift)] as number
    while (s !== 0) {
      if (tableOf[s] === id) {
        const k = keys[s]
        if (k === n || (Number.isNaN(n) && Number.isNaN(k))) return s
      }
      s = chain[s] as number
    }
    return 0
  }
  const unchain = (s: number): void => {
    const h = hashNumber(tableOf[s] as number, keys[s] as number, shift)
    let at = buckets[h] as number
    if (at === s) buckets[h] = chain[s] as number
    else {
      while (chain[at] !== s) at = chain[at] as number
      chain[at] = chain[s] as number
    }
  }
  const linkFront = (s: number): void => {
    const first = next[0] as number
    next[s] = first
    prev[s] = 0
    prev[first] = s
    next[0] = s
  }
  const unlink = (s: number): void => {
    const p = prev[s] as number
    const n = next[s] as number
    next[p] = n
    prev[n] = p
  }
  const release = (s: number): void => {
    unlink(s)
    const table = tables[tableOf[s] as number] as Table
    if (table.map === undefined) unchain(s)
    else table.map.delete(keys[s] as string)
    if (--table.count === 0 && !table.pinned) router.drop(table)
    values[s] = undefined
    keys[s] = undefined
    if (expires) expires[s] = 0
    if (promised) promised[s] = 0
    if (sizes) {
      totalSize -= sizes[s] as number
      sizes[s] = 0
    }
    free.push(s)
    size--
  }
  const expired = (s: number): boolean => {
    if (expires === undefined) return false
    const at = expires[s] as number
    return at !== 0 && epoch + at <= Date.now()
  }
  const slotIn = (table: Table, raw: unknown): number =>
    table.map === undefined ? numberSlot(table, raw as number) : (table.map.get(raw as string) ?? 0)

  const lookup = (table: Table, raw: unknown): number => {
    const s = slotIn(table, raw)
    if (s !== 0 && expired(s)) {
      release(s)
      return 0
    }
    return s
  }
  // A new slot for `raw`, after evicting what the bounds ask; `need` is the new entry's size (0 without maxSize).
  const claim = (table: Table, raw: unknown, need: number): number => {
    // Counted before evicting: an eviction that empties the table must not drop it.
    table.count++
    // Evict first, so a full storage reuses the freed slot instead of outgrowing its arrays.
    if (size >= maxEntries) release(prev[0] as number)
    while (totalSize + need > maxSize) release(prev[0] as number)
    let s: number
    if (free.length > 0) s = free.pop() as number
    else {
      if (used === capacity) grow()
      s = ++used
    }
    keys[s] = raw
    tableOf[s] = table.id
    if (table.map === undefined) {
      const h = hashNumber(table.id, raw as number, shift)
      chain[s] = buckets[h] as number
      buckets[h] = s
    } else table.map.set(raw as string, s)
    size++
    return s
  }
  // `born`, `until` and `keep` only from `writeEntry`: the entry's createdAt, the slot's expiry (absolute ms) and the
  // entry's own expiry to hand back when it differs from `until` (Infinity for none). False when not kept.
  const write = (
    ns: string,
    key: string,
    value: unknown,
    opts: SetOptions | undefined,
    born?: number,
    until?: number,
    keep?: number,
  ): boolean => {
    // Measured before anything changes: a failing size function leaves the storage as it was.
    const need = sizeOf === undefined ? 0 : sizeOfValue(sizeOf, value)
    const ttl = opts?.ttl
    const now = born ?? Date.now()
    // Found, not made: the table is made only for an entry that will be in it.
    let table = find(ns, key)
    const raw = router.routed
    let s = slotIn(table, raw)
    if (need > maxSize) {
      // Too large to keep: the call's result goes uncached, and no older value stays behind it.
      if (s !== 0) release(s)
      return false
    }
    if (s === 0) {
      if (table === NO_TABLE) table = router.route(ns, key)
      s = claim(table, raw, need)
    } else {
      unlink(s)
      if (sizes !== undefined) {
        totalSize -= sizes[s] as number
        while (totalSize + need > maxSize) release(prev[0] as number)
      }
    }
    if (sizes !== undefined) {
      sizes[s] = need
      totalSize += need
    }
    const meta = opts?.meta
    if (keep !== undefined) {
      values[s] = new WithMeta(value, meta ?? NO_META, now, keep)
      if (promised !== undefined) promised[s] = 0
      table.hasMeta = table.hasBox = true
      if (meta?.staleAt !== undefined) table.hasTimeline = true
    } else if (meta === undefined) {
      values[s] = value
      if (promised !== undefined) promised[s] = 0
    } else if (isPromiseOnly(meta)) {
      values[s] = value
      promised ??= new Uint8Array(capacity + 1)
      promised[s] = 1
      table.hasMeta = table.hasPromised = true
    } else {
      values[s] = new WithMeta(value, meta, now)
      if (promised !== undefined) promised[s] = 0
      table.hasMeta = table.hasBox = true
      if (meta.staleAt !== undefined) table.hasTimeline = true
    }
    // Computed before the column is read: `timeOf` may replace the columns.
    const at = timeOf(now)
    created[s] = at
    if (ttl !== undefined || until !== undefined) {
      const at = timeOf(until ?? now + (ttl as number))
      expires ??= new (epoch === 0 ? Float64Array : Uint32Array)(capacity + 1)
      expires[s] = at
    } else if (expires) {
      expires[s] = 0
    }
    linkFront(s)
    return true
  }
  const createdAt = (s: number): number => epoch + (created[s] as number)
  const heldAt = (s: number): unknown =>
    promised !== undefined && promised[s] === 1 ? new WithMeta(values[s], PROMISE_META, createdAt(s)) : values[s]
  const entryAt = (s: number): Entry => {
    const at = expires === undefined ? 0 : (expires[s] as number)
    const held = heldAt(s)
    let expiresAt = at === 0 ? undefined : epoch + at
    if (!(held instanceof WithMeta)) return { value: held, createdAt: createdAt(s), expiresAt }
    if (held.expiresAt !== undefined)
      expiresAt = held.expiresAt === Number.POSITIVE_INFINITY ? undefined : held.expiresAt
    return held.meta === NO_META
      ? { value: held.value, createdAt: createdAt(s), expiresAt }
      : { value: held.value, createdAt: createdAt(s), expiresAt, meta: held.meta }
  }
  const touch = (s: number): void => {
    if (next[0] !== s) {
      unlink(s)
      linkFront(s)
    }
  }

  const storage: Storage = {
    async: false,
    name: 'memory',
    get(ns, key) {
      const table = find(ns, key)
      const s = lookup(table, router.routed)
      if (s === 0) return undefined
      touch(s)
      return entryAt(s)
    },
    set(ns, key, value, opts) {
      write(ns, key, value, opts)
    },
    add(ns, key, value, opts) {
      if (lookup(find(ns, key), router.routed) !== 0) return false
      // Not written when larger than maxSize on its own.
      return write(ns, key, value, opts)
    },
    acquireLease: (ns, key, token, ttl) => leases.acquire(ns, key, token, ttl),
    releaseLease: (ns, key, token) => leases.release(ns, key, token),
    extendLease: (ns, key, token, ttl) => leases.extend(ns, key, token, ttl),
    setIfLeased(ns, key, value, token, opts) {
      if (!leases.holds(ns, key, token)) return false
      // Written before the lease goes: a failing size function leaves both as they were.
      write(ns, key, value, opts)
      leases.drop(ns, key)
      return true
    },
    delete(ns, key) {
      if (leases.count !== 0) leases.drop(ns, key)
      const table = find(ns, key)
      const s = lookup(table, router.routed)
      if (s === 0) return false
      release(s)
      return true
    },
    clear(ns, keyPrefix) {
      if (leases.count !== 0) leases.clear(ns, keyPrefix)
      const found = namespaces.get(ns)
      if (found === undefined) return
      const { generic, numbers } = found
      for (const [raw, s] of generic.map as Map<string, number>) {
        if (keyPrefix === undefined || raw.startsWith(keyPrefix)) release(s)
      }
      // Number tables have no map of their own: one walk over the live entries finds theirs.
      const cleared: (boolean | undefined)[] = []
      for (const table of numbers.values()) {
        const all = keyPrefix === undefined || (table.prefix as string).startsWith(keyPrefix)
        if (all || keyPrefix.startsWith(table.prefix as string)) cleared[table.id] = all
      }
      if (cleared.length === 0) return
      for (let s = next[0] as number; s !== 0; ) {
        const after = next[s] as number
        const all = cleared[tableOf[s] as number]
        const table = tables[tableOf[s] as number] as Table
        if (all === true || (all === false && fullKey(table, keys[s]).startsWith(keyPrefix as string))) release(s)
        s = after
      }
    },
  }
  const readSlot = (s: number): unknown => {
    if (expired(s)) {
      release(s)
      return MISS
    }
    touch(s)
    return values[s]
  }
  // A hit path holds these tables for good: pinned, so they are never dropped and made anew under another id.
  const pin = (table: Table): Table => {
    table.pinned = true
    return table
  }
  internalsByStorage.set(storage, {
    numberTable: (ns, prefix) => pin(router.numberTable(ns, prefix)),
    genericTable: (ns) => pin(router.genericTable(ns)),
    read: (table, raw) => {
      const s = numberSlot(table, raw)
      return s === 0 ? MISS : readSlot(s)
    },
    numberSlot,
    // `find` sets `router.routed` before it is read.
    slotOfKey: (ns, key) => slotIn(find(ns, key), router.routed),
    // A released slot's key is undefined, and slot 0 (the list sentinel) never holds one.
    keyAt: (table, s) => (tableOf[s] === table.id ? keys[s] : undefined),
    readSlot,
    heldAt,
    writeEntry(ns, key, entry, until) {
      const own = entry.expiresAt ?? Number.POSITIVE_INFINITY
      const meta = entry.meta
      write(
        ns,
        key,
        entry.value,
        meta === undefined ? undefined : { meta },
        entry.createdAt,
        until,
        own === until ? undefined : own,
      )
    },
  })
  return storage
}
