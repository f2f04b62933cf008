import { ConfigError } from './errors'
// The key encoder's text of a number: a one-number key is routed to a number table exactly when it is that text.
import { numberText } from './keys'
import { type MemoryInternals, MISS, type Table, WithMeta } from './memory-slots'
import { rejectUnknownOptions } from './options'
import type { Entry, SetOptions, Storage } from './storage'

export { type MemoryInternals, MISS, type Table, WithMeta } from './memory-slots'

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Most entries kept across all namespaces; the least recently used is evicted past it.
   * A positive integer, or `Infinity` to opt out of the bound knowingly. Default: 10,000.
   */
  readonly maxEntries?: number
}

/** The default bound of {@link memoryStorage}: 10,000 entries. */
export const DEFAULT_MAX_ENTRIES = 10_000

// Storages are matched by identity, so a wrapper that spreads a memory storage into a new object (to change
// its behaviour) never takes the fast path around its own methods.
const internalsByStorage = new WeakMap<Storage, MemoryInternals>()

/** The internal fast-path interface of a storage made by {@link memoryStorage}, else undefined. */
export function memoryInternals(storage: unknown): MemoryInternals | undefined {
  return internalsByStorage.get(storage as Storage)
}

interface NamespaceTables {
  readonly generic: Table
  readonly numbers: Map<string, Table>
}

const INITIAL_CAPACITY = 64

/**
 * The sync in-memory storage: values kept by reference (a hit costs no serialization), TTL expiry checked on
 * read, and LRU eviction past `maxEntries` (default 10,000). Process-local.
 *
 * Entries live in parallel arrays (value, key, table, LRU links, times) indexed by slot, so an entry costs a few
 * words beyond its Map slot; keys that are one number are stored by the number itself, not a string.
 */
export function memoryStorage(options: MemoryStorageOptions = {}): Storage {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError(
      'options',
      'memoryStorage: options must be an object, e.g. memoryStorage({ maxEntries: 500 })',
    )
  }
  rejectUnknownOptions('memoryStorage', options, ['maxEntries'])
  const { maxEntries = DEFAULT_MAX_ENTRIES } = options
  if (!(maxEntries === Number.POSITIVE_INFINITY || (Number.isInteger(maxEntries) && maxEntries > 0))) {
    throw new ConfigError(
      'maxEntries',
      `maxEntries must be a positive integer (or Infinity for no bound), got ${String(maxEntries)}`,
    )
  }
  const namespaces = new Map<string, NamespaceTables>()
  const tables: Table[] = []

  // Slot 0 is the sentinel of a circular list: next[0] is the most recently used slot, prev[0] the least.
  let capacity = Math.min(INITIAL_CAPACITY, maxEntries)
  const values: unknown[] = new Array(capacity + 1)
  const keys: unknown[] = new Array(capacity + 1)
  let tableOf = new Uint32Array(capacity + 1)
  let next = new Uint32Array(capacity + 1)
  let prev = new Uint32Array(capacity + 1)
  let created = new Float64Array(capacity + 1)
  // Allocated on the first TTL, so caches without TTLs don't pay for it. 0 means no expiry.
  let expires: Float64Array | undefined
  const free: number[] = []
  let used = 0
  let size = 0

  const grow = (): void => {
    const target = Math.min(capacity * 2, maxEntries)
    const copy = <T extends Uint32Array | Float64Array>(from: T, make: (n: number) => T): T => {
      const to = make(target + 1)
      to.set(from)
      return to
    }
    values.length = target + 1
    keys.length = target + 1
    tableOf = copy(tableOf, (n) => new Uint32Array(n))
    next = copy(next, (n) => new Uint32Array(n))
    prev = copy(prev, (n) => new Uint32Array(n))
    created = copy(created, (n) => new Float64Array(n))
    if (expires) expires = copy(expires, (n) => new Float64Array(n))
    capacity = target
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
    ;(tables[tableOf[s] as number] as Table).map.delete(keys[s])
    values[s] = undefined
    keys[s] = undefined
    if (expires) expires[s] = 0
    free.push(s)
    size--
  }
  const expired = (s: number): boolean => {
    if (expires === undefined) return false
    const at = expires[s] as number
    return at !== 0 && at <= Date.now()
  }
  const makeTable = (prefix: string | undefined): Table => {
    const table: Table = { id: tables.length, prefix, map: new Map(), hasMeta: false, hasTimeline: false }
    tables.push(table)
    return table
  }
  const namespaceTables = (ns: string): NamespaceTables => {
    let found = namespaces.get(ns)
    if (found === undefined) {
      found = { generic: makeTable(undefined), numbers: new Map() }
      namespaces.set(ns, found)
    }
    return found
  }
  const numberTable = (ns: string, prefix: string): Table => {
    const { numbers } = namespaceTables(ns)
    let table = numbers.get(prefix)
    if (table === undefined) {
      table = makeTable(prefix)
      numbers.set(prefix, table)
    }
    return table
  }

  // Routes a public string key to its table and map key: `<prefix>[<number>]` with a canonical number other
  // than -0 (which a Map can't tell from 0) goes to the number table, anything else to the generic table.
  let routedKey: unknown
  const route = (ns: string, key: string): Table => {
    const colon = key.indexOf(':')
    // Cheap rejections first: a number's encoding ends in a digit, `y` (Infinity) or `N` (NaN).
    const last = key.charCodeAt(key.length - 2)
    if (
      colon !== -1 &&
      key.charCodeAt(colon + 1) === 91 /* [ */ &&
      key.charCodeAt(key.length - 1) === 93 /* ] */ &&
      ((last >= 48 && last <= 57) || last === 121 || last === 78)
    ) {
      const inner = key.slice(colon + 2, -1)
      const n = Number(inner)
      if (inner.length > 0 && !(n === 0 && 1 / n < 0) && numberText(n) === inner) {
        routedKey = n
        return numberTable(ns, key.slice(0, colon + 1))
      }
    }
    routedKey = key
    return namespaceTables(ns).generic
  }
  const fullKey = (table: Table, raw: unknown): string =>
    table.prefix === undefined ? (raw as string) : `${table.prefix}[${numberText(raw as number)}]`

  const lookup = (table: Table, raw: unknown): number => {
    const s = table.map.get(raw)
    if (s === undefined) return 0
    if (expired(s)) {
      release(s)
      return 0
    }
    return s
  }
  const write = (table: Table, raw: unknown, value: unknown, opts: SetOptions | undefined): void => {
    const ttl = opts?.ttl
    const now = Date.now()
    let s = table.map.get(raw)
    if (s === undefined) {
      // Evict first, so a full storage reuses the freed slot instead of outgrowing its arrays.
      if (size >= maxEntries) release(prev[0] as number)
      if (free.length > 0) s = free.pop() as number
      else {
        if (used === capacity) grow()
        s = ++used
      }
      table.map.set(raw, s)
      keys[s] = raw
      tableOf[s] = table.id
      size++
    } else {
      unlink(s)
    }
    const meta = opts?.meta
    if (meta === undefined) values[s] = value
    else {
      values[s] = new WithMeta(value, meta, now)
      table.hasMeta = true
      if (meta.staleAt !== undefined) table.hasTimeline = true
    }
    created[s] = now
    if (ttl !== undefined) {
      expires ??= new Float64Array(capacity + 1)
      expires[s] = now + ttl
    } else if (expires) {
      expires[s] = 0
    }
    linkFront(s)
  }
  const entryAt = (s: number): Entry => {
    const at = expires === undefined ? 0 : (expires[s] as number)
    const held = values[s]
    const createdAt = created[s] as number
    const expiresAt = at === 0 ? undefined : at
    return held instanceof WithMeta
      ? { value: held.value, createdAt, expiresAt, meta: held.meta }
      : { value: held, createdAt, expiresAt }
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
      const table = route(ns, key)
      const s = lookup(table, routedKey)
      if (s === 0) return undefined
      touch(s)
      return entryAt(s)
    },
    set(ns, key, value, opts) {
      const table = route(ns, key)
      write(table, routedKey, value, opts)
    },
    add(ns, key, value, opts) {
      const table = route(ns, key)
      const raw = routedKey
      if (lookup(table, raw) !== 0) return false
      write(table, raw, value, opts)
      return true
    },
    delete(ns, key) {
      const table = route(ns, key)
      const s = lookup(table, routedKey)
      if (s === 0) return false
      release(s)
      return true
    },
    clear(ns, keyPrefix) {
      const found = namespaces.get(ns)
      if (found === undefined) return
      for (const table of [found.generic, ...found.numbers.values()]) {
        const all = keyPrefix === undefined || table.prefix?.startsWith(keyPrefix)
        for (const [raw, s] of table.map) {
          if (all || fullKey(table, raw).startsWith(keyPrefix as string)) release(s)
        }
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
  const read = (table: Table, raw: unknown): unknown => {
    const s = table.map.get(raw)
    return s === undefined ? MISS : readSlot(s)
  }
  internalsByStorage.set(storage, {
    numberTable,
    genericTable: (ns) => namespaceTables(ns).generic,
    read,
    // `route` sets `routedKey` before it is read.
    slotOfKey: (ns, key) => route(ns, key).map.get(routedKey) ?? 0,
    // A released slot's key is undefined, and slot 0 (the list sentinel) never holds one.
    keyAt: (table, s) => (tableOf[s] === table.id ? keys[s] : undefined),
    readSlot,
  })
  return storage
}
