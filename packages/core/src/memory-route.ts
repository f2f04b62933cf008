/**
 * The memory storage's tables (one generic table per namespace, one number table per namespace and function) and
 * the routing of a public string key to its table and the key inside it.
 */
// The key encoder's text of a number: a one-number key is routed to a number table exactly when it is that text.
import { numberText } from './keys'
import type { Table } from './memory-slots'
import { callObserved, onObservationStart } from './observe'

// Every router's tables, so that observation can close their fast paths (see `closeFastPaths`).
const everyRouter = new Set<WeakRef<(Table | undefined)[]>>()
const forgetRouter = new FinalizationRegistry<WeakRef<(Table | undefined)[]>>((ref) => everyRouter.delete(ref))

/**
 * Sets every flag a fast hit path checks, on every table: from then on a memory hit looks at its slot through
 * `fromSlot`, which sends an observed call to the observed path. That costs the unobserved hit nothing, where a
 * `callObserved` test on entry cost S1 about 4% (bench, bundle against bundle). The flags only say what a table
 * may hold, so setting them is always correct; they stay set after the last subscriber leaves (a few ns a hit).
 */
function closeFastPaths(tables: readonly (Table | undefined)[]): void {
  for (const table of tables) {
    if (table !== undefined) table.hasMeta = table.hasBox = table.hasPromised = table.hasTimeline = true
  }
}
onObservationStart(() => {
  for (const ref of everyRouter) {
    const tables = ref.deref()
    if (tables === undefined) everyRouter.delete(ref)
    else closeFastPaths(tables)
  }
})

export interface NamespaceTables {
  readonly generic: Table
  readonly numbers: Map<string, Table>
}

/**
 * What a read finds where no table exists: always empty, never written. Reads don't create tables, so reading
 * (or deleting) keys of ever new namespaces or prefixes leaves nothing behind.
 */
export const NO_TABLE: Table = {
  id: -1,
  namespace: '',
  prefix: undefined,
  map: new Map(),
  hasMeta: true,
  hasBox: true,
  hasPromised: true,
  hasTimeline: true,
  count: 0,
  pinned: true,
}

export interface Router {
  /** Every table, by id; a dropped table's id is a hole until a new table takes it. */
  readonly tables: readonly (Table | undefined)[]
  readonly namespaces: ReadonlyMap<string, NamespaceTables>
  numberTable(ns: string, prefix: string): Table
  genericTable(ns: string): Table
  /** The table of `key` in `ns`, made if missing; the key inside it (a number, or `key` itself) is left in `routed`. */
  route(ns: string, key: string): Table
  /** As `route`, but NO_TABLE where the table does not exist. */
  find(ns: string, key: string): Table
  /** Drops `table` (and its namespace's, when all are empty and unpinned); called when its last entry goes. */
  drop(table: Table): void
  /** Set by `route` and `find`: read it right after. */
  routed: unknown
}

export function createRouter(): Router {
  const namespaces = new Map<string, NamespaceTables>()
  const tables: (Table | undefined)[] = []
  const freeIds: number[] = []
  const ref = new WeakRef(tables)
  everyRouter.add(ref)
  forgetRouter.register(tables, ref)
  const makeTable = (namespace: string, prefix: string | undefined): Table => {
    const map = prefix === undefined ? new Map<string, number>() : undefined
    const table: Table = {
      id: freeIds.length > 0 ? (freeIds.pop() as number) : tables.length,
      namespace,
      prefix,
      map,
      // Created closed while someone observes `memokit:call`.
      hasMeta: callObserved,
      hasBox: callObserved,
      hasPromised: callObserved,
      hasTimeline: callObserved,
      count: 0,
      pinned: false,
    }
    tables[table.id] = table
    return table
  }
  const forget = (table: Table): void => {
    tables[table.id] = undefined
    freeIds.push(table.id)
  }
  const namespaceTables = (ns: string): NamespaceTables => {
    let found = namespaces.get(ns)
    if (found === undefined) {
      found = { generic: makeTable(ns, undefined), numbers: new Map() }
      namespaces.set(ns, found)
    }
    return found
  }
  // `<prefix>[<number>]` with a canonical number other than -0 (which a Map can't tell from 0): the prefix, with the
  // number left in `routed`; anything else: undefined, with the key in `routed`.
  const numberPrefix = (key: string): string | undefined => {
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
        router.routed = n
        return key.slice(0, colon + 1)
      }
    }
    router.routed = key
    return undefined
  }
  const router: Router = {
    tables,
    namespaces,
    numberTable(ns, prefix) {
      const { numbers } = namespaceTables(ns)
      let table = numbers.get(prefix)
      if (table === undefined) {
        table = makeTable(ns, prefix)
        numbers.set(prefix, table)
      }
      return table
    },
    genericTable: (ns) => namespaceTables(ns).generic,
    route(ns, key) {
      const prefix = numberPrefix(key)
      return prefix === undefined ? namespaceTables(ns).generic : router.numberTable(ns, prefix)
    },
    find(ns, key) {
      const prefix = numberPrefix(key)
      const found = namespaces.get(ns)
      if (found === undefined) return NO_TABLE
      return prefix === undefined ? found.generic : (found.numbers.get(prefix) ?? NO_TABLE)
    },
    drop(table) {
      const found = namespaces.get(table.namespace) as NamespaceTables
      if (table.prefix !== undefined) {
        found.numbers.delete(table.prefix)
        forget(table)
      }
      const { generic } = found
      if (generic.count === 0 && !generic.pinned && found.numbers.size === 0) {
        namespaces.delete(table.namespace)
        forget(generic)
      }
    },
    routed: undefined,
  }
  return router
}

/** The public key of the entry under `raw` in `table`. */
export const fullKey = (table: Table, raw: unknown): string =>
  table.prefix === undefined ? (raw as string) : `${table.prefix}[${numberText(raw as number)}]`
