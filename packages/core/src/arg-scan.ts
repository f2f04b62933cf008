/*
 * Recognising an argument list that is already stored without building its key string: the by-value hit path of
 * cacheValue over a memory storage (bench S2).
 *
 * `scanArgs` reads the arguments once, in the same order and with the same observable operations as the key
 * encoder (prototype, symbol keys, `Object.keys`, `in` for array holes, each property read once), and records what
 * it read as a flat list of tokens plus a hash. The tokens determine the encoder's text: `matchesKey` writes that
 * text out in its head and compares it with a key.
 *
 * This module writes the tokens; their readers import the token kinds and arrays from it: `matchesKey` is in
 * arg-scan-match.ts, and the table of recent hits that makes a scan pay (`RecentHits`) is in arg-scan-recent.ts.
 *
 * Only the plain encoding (no `typed`, no type encoders) of primitives, plain and null-prototype objects and Arrays
 * takes part. Anything else (Date, Map, class instances, cross-realm objects, deep or long lists, any symbol-keyed
 * property, a call made by a getter while a scan runs) makes `scanArgs` return NO_SCAN, and the caller uses the key
 * encoder, which handles (or rejects) every value.
 */
import { MAX_READABLE } from './keys'

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

// What `matchesKey` (arg-scan-match.ts) reads; `undefined` is its default case.
export { BIGINT, CLOSE_ARRAY, CLOSE_OBJECT, FALSE, HOLE, KEY, NULL, NUMBER, OPEN_ARRAY, OPEN_OBJECT, STRING, TRUE }

// An argument list of more tokens always encodes to more than MAX_READABLE characters (each token is at least one
// character, and so is the comma between two values), so its key is a digest, which no scan matches.
const CAPACITY = MAX_READABLE + 2
// Deeper nesting is left to the key encoder (which also detects cycles); a depth this small is never a cycle.
const MAX_DEPTH = 16

export const kinds = new Uint8Array(CAPACITY)
// Every token's value: the number, string or bigint; `true`, `false`, `null` or `undefined` themselves; a mark for
// brackets and holes. Two token lists with equal values have equal kinds too (a property name and a string value
// never stand in the same place), so comparing values alone compares the lists. The table of recent hits
// (arg-scan-recent.ts) reads them, up to `state.count`.
export const values: unknown[] = new Array(CAPACITY).fill(undefined)
const MARKS: unknown[] = []
MARKS[OPEN_ARRAY] = Symbol('[')
MARKS[CLOSE_ARRAY] = Symbol(']')
MARKS[OPEN_OBJECT] = Symbol('{')
MARKS[CLOSE_OBJECT] = Symbol('}')
MARKS[HOLE] = Symbol('hole')
// One object for the scan's state: its fields are cheaper to update than module-level `let` bindings.
export const state = { count: 0, ok: true, scanning: false }

const FNV_PRIME = 0x01000193

function hashString(h: number, s: string): number {
  const n = s.length
  h = Math.imul(h ^ n, FNV_PRIME)
  for (let i = 0; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME)
  return h
}

/** Records one token; false (and the scan given up) when the list is full. */
function token(kind: number, value: unknown): boolean {
  const c = state.count
  if (c === CAPACITY) {
    state.ok = false
    return false
  }
  kinds[c] = kind
  values[c] = value
  state.count = c + 1
  return true
}

const mark = (kind: number): boolean => token(kind, MARKS[kind])

// Each case returns the hash with the value mixed in; after a failed `token` the caller stops at `state.ok`.
function scanValue(v: unknown, h: number, depth: number): number {
  if (typeof v === 'number') {
    token(NUMBER, v)
    // Integers by value; other numbers by a scaled image (NaN and ±Infinity give 0: only a weaker hash).
    return Math.imul(h ^ ((v | 0) === v ? v : (v * 0x9e3779b1) | 0), FNV_PRIME)
  }
  if (typeof v === 'string') {
    // A string this long makes the key a digest, which no scan matches.
    if (v.length > MAX_READABLE) {
      state.ok = false
      return h
    }
    token(STRING, v)
    return hashString(h, v)
  }
  if (typeof v === 'object') {
    if (v === null) {
      token(NULL, null)
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
    const kind = v ? TRUE : FALSE
    token(kind, v)
    return h ^ kind
  } else if (v === undefined) {
    token(UNDEFINED, undefined)
    return h ^ UNDEFINED
  } else if (typeof v === 'bigint') {
    token(BIGINT, v)
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
    // Property names are not hashed: calls of one function mostly share their shapes, and the tokens decide.
    if (!token(KEY, k)) return h
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
