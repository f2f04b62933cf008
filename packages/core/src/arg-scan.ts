/*
 * Recognising an argument list that is already stored without building its key string: the by-value hit path of
 * cacheValue over a memory storage (bench S2).
 *
 * `scanArgs` reads the arguments once, in the same order and with the same observable operations as the key
 * encoder (prototype, symbol keys, `Object.keys`, `in` for array holes, each property read once), and records what
 * it read as a flat list of tokens plus a hash. The tokens determine the encoder's text: `matchesKey` writes that
 * text out in its head and compares it with a key.
 *
 * A table of recent hits (`RecentHits`) keeps, per hash, the tokens of argument lists whose key `matchesKey`
 * confirmed, with that key and the memory storage slot of its entry. Equal tokens mean equal text, so a later scan
 * whose tokens equal remembered ones has the remembered key: the hit path compares tokens (numbers and short
 * strings) instead of building, hashing and comparing a key string. The hash only picks the candidate; a hash
 * collision costs a lookup, never a wrong result.
 *
 * Only the plain encoding (no `typed`, no type encoders) of primitives, plain and null-prototype objects and Arrays
 * takes part. Anything else (Date, Map, class instances, cross-realm objects, deep or long lists, any symbol-keyed
 * property, a call made by a getter while a scan runs) makes `scanArgs` return NO_SCAN, and the caller uses the key
 * encoder, which handles (or rejects) every value.
 */
import { MAX_READABLE, numberText, quote } from './keys'

/** `scanArgs` met something it does not handle; use the key encoder. */
export const NO_SCAN = -1

// Token kinds. Those with a value keep it in `values`; `matchesKey` shows the encoder's text for each.
const NUMBER = 1
const STRING = 2
const BIGINT = 3
const KEY = 4
const OPEN_ARRAY = 5
const CLOSE_ARRAY = 6
const OPEN_OBJECT = 7
const CLOSE_OBJECT = 8
const HOLE = 9
const TRUE = 10
const FALSE = 11
const NULL = 12
const UNDEFINED = 13

// An argument list of more tokens always encodes to more than MAX_READABLE characters (each token is at least one
// character, and so is the comma between two values), so its key is a digest, which no scan matches.
const CAPACITY = MAX_READABLE + 2
// Deeper nesting is left to the key encoder (which also detects cycles); a depth this small is never a cycle.
const MAX_DEPTH = 16

const kinds = new Uint8Array(CAPACITY)
const values: unknown[] = new Array(CAPACITY).fill(undefined)
// One object for the scan's state: its fields are cheaper to update than module-level `let` bindings.
const state = { count: 0, ok: true, scanning: false }

const FNV_PRIME = 0x01000193

function hashString(h: number, s: string): number {
  const n = s.length
  h = Math.imul(h ^ n, FNV_PRIME)
  for (let i = 0; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME)
  return h
}

/** Records one token without a value; false when the list is full. */
function mark(kind: number): boolean {
  const c = state.count
  if (c === CAPACITY) {
    state.ok = false
    return false
  }
  kinds[c] = kind
  state.count = c + 1
  return true
}

function scanValue(v: unknown, h: number, depth: number): number {
  const c = state.count
  if (c === CAPACITY) {
    state.ok = false
    return h
  }
  if (typeof v === 'number') {
    kinds[c] = NUMBER
    values[c] = v
    state.count = c + 1
    // Integers by value; other numbers by a scaled image (NaN and ±Infinity give 0: only a weaker hash).
    return Math.imul(h ^ ((v | 0) === v ? v : (v * 0x9e3779b1) | 0), FNV_PRIME)
  }
  if (typeof v === 'string') {
    // A string this long makes the key a digest, which no scan matches.
    if (v.length > MAX_READABLE) {
      state.ok = false
      return h
    }
    kinds[c] = STRING
    values[c] = v
    state.count = c + 1
    return hashString(h, v)
  }
  if (typeof v === 'object') {
    if (v === null) {
      kinds[c] = NULL
      state.count = c + 1
      return h ^ NULL
    }
    if (depth !== MAX_DEPTH) {
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) === Array.prototype) return scanArray(v, h, depth)
      } else {
        const proto = Object.getPrototypeOf(v)
        if (proto === Object.prototype || proto === null) return scanObject(v as Record<string, unknown>, h, depth)
      }
    }
  } else if (typeof v === 'boolean') {
    kinds[c] = v ? TRUE : FALSE
    state.count = c + 1
    return h ^ (v ? TRUE : FALSE)
  } else if (v === undefined) {
    kinds[c] = UNDEFINED
    state.count = c + 1
    return h ^ UNDEFINED
  } else if (typeof v === 'bigint') {
    kinds[c] = BIGINT
    values[c] = v
    state.count = c + 1
    return Math.imul(h ^ Number(BigInt.asIntN(32, v)), FNV_PRIME)
  }
  state.ok = false
  return h
}

function scanArray(a: readonly unknown[], h: number, depth: number): number {
  const n = a.length
  if (!mark(OPEN_ARRAY)) return h
  h = Math.imul(h ^ n, FNV_PRIME)
  for (let i = 0; i < n; i++) {
    const x = a[i]
    if (x === undefined && !(i in a)) {
      if (!mark(HOLE)) return h
      h ^= HOLE
    } else {
      h = scanValue(x, h, depth + 1)
      if (!state.ok) return h
    }
  }
  mark(CLOSE_ARRAY)
  return h
}

function scanObject(o: Record<string, unknown>, h: number, depth: number): number {
  // The key encoder rejects enumerable symbol keys; any symbol key at all is left to it.
  if (Object.getOwnPropertySymbols(o).length !== 0) {
    state.ok = false
    return h
  }
  const keys = Object.keys(o)
  const n = keys.length
  for (let i = 1; i < n; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      keys.sort()
      break
    }
  }
  if (!mark(OPEN_OBJECT)) return h
  for (let i = 0; i < n; i++) {
    const k = keys[i] as string
    const c = state.count
    if (c === CAPACITY) {
      state.ok = false
      return h
    }
    // Property names are not hashed: calls of one function mostly share their shapes, and the tokens decide.
    kinds[c] = KEY
    values[c] = k
    state.count = c + 1
    h = scanValue(o[k], h, depth + 1)
    if (!state.ok) return h
  }
  mark(CLOSE_OBJECT)
  return h
}

/**
 * Scans an argument list; returns a non-negative hash (equal for lists the key encoder encodes equally), or
 * NO_SCAN. The tokens stay valid until the next scan.
 */
export function scanArgs(args: ArrayLike<unknown>): number {
  if (state.scanning) return NO_SCAN
  state.scanning = true
  state.count = 0
  state.ok = true
  let h = 0x811c9dc5 | 0
  try {
    const n = args.length
    for (let i = 0; i < n; i++) {
      h = scanValue(args[i], h, 0)
      if (!state.ok) break
    }
  } catch {
    // A throwing getter or proxy trap: the key encoder meets it again and reports it properly.
    state.ok = false
  } finally {
    state.scanning = false
  }
  return state.ok ? (h ^ (h >>> 15)) & 0x7fffffff : NO_SCAN
}

/** The key encoder's text for one token (not the commas between values). */
function tokenText(kind: number, v: unknown): string {
  switch (kind) {
    case NUMBER:
      return numberText(v as number)
    case STRING:
      return quote(v as string)
    case BIGINT:
      return `${v as bigint}n`
    case KEY:
      return `${quote(v as string)}:`
    case OPEN_ARRAY:
      return '['
    case CLOSE_ARRAY:
      return ']'
    case OPEN_OBJECT:
      return '{'
    case CLOSE_OBJECT:
      return '}'
    case HOLE:
      return '_'
    case TRUE:
      return 'true'
    case FALSE:
      return 'false'
    case NULL:
      return 'null'
    default:
      return 'undefined'
  }
}

/**
 * True exactly when the key encoder, given the arguments of the last successful `scanArgs`, returns `key`.
 * `start` is what the encoder writes before the first argument (the escaped function name, `:` and `[`).
 */
export function matchesKey(key: string, start: string): boolean {
  // The encoder replaces longer encodings (all but the function name and `:`) by a digest.
  if (key.length - start.length + 1 > MAX_READABLE || !key.startsWith(start)) return false
  let pos = start.length
  // Commas go between the values of an array or the argument list, and between an object's properties.
  let first = true
  let inObject = false
  const outer: boolean[] = []
  for (let i = 0; i < state.count; i++) {
    const kind = kinds[i] as number
    if (kind === CLOSE_ARRAY || kind === CLOSE_OBJECT) {
      inObject = outer.pop() as boolean
      first = outer.pop() as boolean
    } else if (kind === KEY || !inObject) {
      if (!first) {
        if (key.charCodeAt(pos) !== 44) return false
        pos++
      }
      first = false
    }
    const text = tokenText(kind, values[i])
    if (!key.startsWith(text, pos)) return false
    pos += text.length
    if (kind === OPEN_ARRAY || kind === OPEN_OBJECT) {
      outer.push(first, inObject)
      first = true
      inObject = kind === OPEN_OBJECT
    }
  }
  return pos === key.length - 1 && key.charCodeAt(pos) === 93
}

/** Recently hit argument lists of one cached function, in sets of two per hash. */
export interface RecentHits {
  readonly hashes: Int32Array
  /** The memory storage slot of each remembered entry (0: none). */
  readonly slots: Int32Array
  /** The key each remembered entry had; the slot must still hold it. */
  readonly keys: (string | undefined)[]
  readonly kinds: (Uint8Array | undefined)[]
  readonly values: (unknown[] | undefined)[]
}

/** A table of recent hits with `sets` sets (a power of two). */
export function createRecentHits(sets: number): RecentHits {
  return {
    hashes: new Int32Array(sets * 2),
    slots: new Int32Array(sets * 2),
    keys: new Array(sets * 2).fill(undefined),
    kinds: new Array(sets * 2).fill(undefined),
    values: new Array(sets * 2).fill(undefined),
  }
}

/** Whether the last scan's tokens equal remembered ones; numbers as the encoder tells them apart (`-0` from `0`). */
function sameTokens(k: Uint8Array | undefined, v: unknown[] | undefined): boolean {
  const n = state.count
  if (k === undefined || v === undefined || k.length !== n) return false
  for (let i = 0; i < n; i++) {
    const kind = k[i]
    if (kind !== kinds[i]) return false
    if (kind === NUMBER) {
      if (!Object.is(v[i], values[i])) return false
    } else if (kind === STRING || kind === KEY || kind === BIGINT) {
      if (v[i] !== values[i]) return false
    }
  }
  return true
}

/** The index in `recent` of the entry remembered for arguments with the last scan's tokens, or -1. */
export function findRecent(recent: RecentHits, h: number): number {
  const i = (h & ((recent.hashes.length >> 1) - 1)) << 1
  const { hashes } = recent
  if (hashes[i] === h && sameTokens(recent.kinds[i], recent.values[i])) return i
  if (hashes[i + 1] === h && sameTokens(recent.kinds[i + 1], recent.values[i + 1])) return i + 1
  return -1
}

/**
 * Remembers that the last scan's arguments (hash `h`) have `key`, stored in `slot`, provided the scan really gives
 * `key` (user code such as a getter may run between the scan and the key encoder).
 */
export function rememberRecent(recent: RecentHits, h: number, slot: number, key: string, start: string): void {
  if (slot === 0 || !matchesKey(key, start)) return
  const i = (h & ((recent.hashes.length >> 1) - 1)) << 1
  const { hashes, slots, keys } = recent
  // The newer entry takes the first place of its set; the older one moves to the second.
  hashes[i + 1] = hashes[i] as number
  slots[i + 1] = slots[i] as number
  keys[i + 1] = keys[i]
  recent.kinds[i + 1] = recent.kinds[i]
  recent.values[i + 1] = recent.values[i]
  hashes[i] = h
  slots[i] = slot
  keys[i] = key
  const n = state.count
  const kept = new Array<unknown>(n)
  // Only the values that tokens have; the others are left over from earlier scans.
  for (let j = 0; j < n; j++) {
    const kind = kinds[j]
    kept[j] = kind === NUMBER || kind === STRING || kind === KEY || kind === BIGINT ? values[j] : undefined
  }
  recent.kinds[i] = kinds.slice(0, n)
  recent.values[i] = kept
}
