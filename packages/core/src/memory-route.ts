/**
 * The memory storage's tables (one generic table per namespace, one number table per namespace and function) and
 * the routing of a public string key to its table and the key inside it.
 */
// The key encoder's text of a number: a one-number key is routed to a number table exactly when it is that text.
import { numberText } from './keys'
import type { Table } from './memory-slots'
import { callObserved, onObservationStart } from './observe'

// Every router's tables, so that observation can close their fast paths (see `closeFastPaths`).
const everyRouter = new Set<WeakRef<Table[]>>()
const forgetRouter = new FinalizationRegistry<WeakRef<Table[]>>((ref) => everyRouter.delete(ref))

/**
 * Sets every flag a fast hit path checks, on every table: from then on a memory hit looks at its slot through
 * `fromSlot`, which sends an observed call to the observed path. That costs the unobserved hit nothing, where a
 * `callObserved` test on entry cost S1 about 4% (bench, bundle against bundle). The flags only say what a table
 * may hold, so setting them is always correct; they stay set after the last subscriber leaves (a few ns a hit).
 */
function closeFastPaths(tables: readonly Table[]): void {
  for (const table of tables) table.hasMeta = table.hasBox = table.hasPromised = table.hasTimeline = true
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

export interface Router {
  /** Every table, by id. */
  readonly tables: readonly Table[]
  readonly namespaces: ReadonlyMap<string, NamespaceTables>
  numberTable(ns: string, prefix: string): Table
  genericTable(ns: string): Table
  /** The table of `key` in `ns`; the key inside that table (a number, or `key` itself) is left in `routed`. */
  route(ns: string, key: string): Table
  /** Set by `route`: read it right after. */
  routed: unknown
}

export function createRouter(): Router {
  const namespaces = new Map<string, NamespaceTables>()
  const tables: Table[] = []
  const ref = new WeakRef(tables)
  everyRouter.add(ref)
  forgetRouter.register(tables, ref)
  const makeTable = (prefix: string | undefined): Table => {
    const map = prefix === undefined ? new Map<string, number>() : undefined
    const table: Table = {
      id: tables.length,
      prefix,
      map,
      // Created closed while someone observes `memokit:call`.
      hasMeta: callObserved,
      hasBox: callObserved,
      hasPromised: callObserved,
      hasTimeline: callObserved,
    }
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
  const router: Router = {
    tables,
    namespaces,
    numberTable(ns, prefix) {
      const { numbers } = namespaceTables(ns)
      let table = numbers.get(prefix)
      if (table === undefined) {
        table = makeTable(prefix)
        numbers.set(prefix, table)
      }
      return table
    },
    genericTable: (ns) => namespaceTables(ns).generic,
    // `<prefix>[<number>]` with a canonical number other than -0 (which a Map can't tell from 0) goes to the number
    // table, anything else to the generic table.
    route(ns, key) {
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
          return router.numberTable(ns, key.slice(0, colon + 1))
        }
      }
      router.routed = key
      return namespaceTables(ns).generic
    },
    routed: undefined,
  }
  return router
}

/** The public key of the entry under `raw` in `table`. */
export const fullKey = (table: Table, raw: unknown): string =>
  table.prefix === undefined ? (raw as string) : `${table.prefix}[${numberText(raw as number)}]`
