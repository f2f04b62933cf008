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
 * The table grows while remembered lists keep displacing each other, up to a bound. A function whose scans cost
 * more than they save (more hot argument lists than the table serves well, mostly new arguments, or arguments the
 * scan does not handle) stops scanning for a while, so it pays what the key string costs and little more.
 *
 * Only the plain encoding (no `typed`, no type encoders) of primitives, plain and null-prototype objects and Arrays
 * takes part. Anything else (Date, Map, class instances, cross-realm objects, deep or long lists, any symbol-keyed
 * property, a call made by a getter while a scan runs) makes `scanArgs` return NO_SCAN, and the caller uses the key
 * encoder, which handles (or rejects) every value.
 */
import { MAX_READABLE, needsEscape, numberText, quote } from './keys'

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
// Every token's value: the number, string or bigint; `true`, `false`, `null` or `undefined` themselves; a mark for
// brackets and holes. Two token lists with equal values have equal kinds too (a property name and a string value
// never stand in the same place), so comparing values alone compares the lists.
const values: unknown[] = new Array(CAPACITY).fill(undefined)
const MARKS: unknown[] = []
MARKS[OPEN_ARRAY] = Symbol('[')
MARKS[CLOSE_ARRAY] = Symbol(']')
MARKS[OPEN_OBJECT] = Symbol('{')
MARKS[CLOSE_OBJECT] = Symbol('}')
MARKS[HOLE] = Symbol('hole')
// One object for the scan's state: its fields are cheaper to update than module-level `let` bindings.
const state = { count: 0, ok: true, scanning: false }

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

/** Where `quote(s)` ends if `key` has it at `pos`, else -1 (the common case without building it). */
function quotedEnd(key: string, pos: number, s: string): number {
  if (needsEscape(s)) {
    const text = quote(s)
    return key.startsWith(text, pos) ? pos + text.length : -1
  }
  const end = pos + 1 + s.length
  return key.charCodeAt(pos) === 34 && key.startsWith(s, pos + 1) && key.charCodeAt(end) === 34 ? end + 1 : -1
}

/** The key encoder's text for a token other than a string or property name (not the commas between values). */
function tokenText(kind: number, v: unknown): string {
  switch (kind) {
    case NUMBER:
      return numberText(v as number)
    case BIGINT:
      return `${v as bigint}n`
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
    if (kind === STRING || kind === KEY) {
      pos = quotedEnd(key, pos, values[i] as string)
      if (pos === -1 || (kind === KEY && key.charCodeAt(pos++) !== 58)) return false
    } else {
      const text = tokenText(kind, values[i])
      if (!key.startsWith(text, pos)) return false
      pos += text.length
    }
    if (kind === OPEN_ARRAY || kind === OPEN_OBJECT) {
      outer.push(first, inObject)
      first = true
      inObject = kind === OPEN_OBJECT
    }
  }
  return pos === key.length - 1 && key.charCodeAt(pos) === 93
}

// The table starts with FIRST_SETS sets of two and is judged every WINDOW scans, but for the window after it was
// made or grown (it fills up then):
// - It grows 4x, up to MAX_SETS, while more than 1 in 16 scans ends in remembering a list: lists keep displacing
//   each other.
// - Scanning pauses while scans cost more than they save: while fewer than 3 in 5 scans find their list, or fewer
//   still when lists keep being remembered (a scan that ends in remembering also built the key string and matched
//   it, about 10 hits' worth). These are the break-even points measured with 8,192 hot lists and with half the
//   calls new arguments. The pause is PAUSE calls, doubled after each window that pauses again, up to MAX_PAUSE.
const FIRST_SETS = 64
const MAX_SETS = 4096
const WINDOW = 1024
const PAUSE = 65_536
const MAX_PAUSE = 1 << 22

/** Recently hit argument lists of one cached function, in sets of two per hash; see the top of this file. */
export interface RecentHits {
  hashes: Int32Array
  /** The memory storage slot of each remembered entry (0: none). */
  slots: Int32Array
  /** The key each remembered entry had; the slot must still hold it. */
  keys: (string | undefined)[]
  /** The token values of each remembered argument list. */
  tokens: (unknown[] | undefined)[]
  /** Scans in the current window, how many of them found their list, and how many lists were remembered. */
  scans: number
  found: number
  remembered: number
  /** Calls left before scanning resumes. */
  paused: number
  /** The length of the next pause. */
  pause: number
  /** False for the window after the table was made or grown. */
  settled: boolean
}

/** Puts an entry in the first place of its set; the one there moves to the second, the second is dropped. */
function put(
  recent: RecentHits,
  h: number,
  slot: number,
  key: string | undefined,
  tokens: unknown[] | undefined,
): void {
  const { hashes, slots, keys } = recent
  const i = (h & ((hashes.length >> 1) - 1)) << 1
  hashes[i + 1] = hashes[i] as number
  slots[i + 1] = slots[i] as number
  keys[i + 1] = keys[i]
  recent.tokens[i + 1] = recent.tokens[i]
  hashes[i] = h
  slots[i] = slot
  keys[i] = key
  recent.tokens[i] = tokens
}

/** Replaces the table by one with `sets` sets, keeping what fits of the old one. */
function resize(recent: RecentHits, sets: number): void {
  const { hashes, slots, keys, tokens } = recent
  recent.hashes = new Int32Array(sets * 2)
  recent.slots = new Int32Array(sets * 2)
  recent.keys = new Array(sets * 2).fill(undefined)
  recent.tokens = new Array(sets * 2).fill(undefined)
  // Second places first, so that first places stay first where two meet again.
  for (let i = hashes.length - 1; i >= 0; i--) {
    if (tokens[i] !== undefined) put(recent, hashes[i] as number, slots[i] as number, keys[i], tokens[i])
  }
}

/** An empty table of recent hits. */
export function createRecentHits(): RecentHits {
  const recent: RecentHits = {
    hashes: new Int32Array(0),
    slots: new Int32Array(0),
    keys: [],
    tokens: [],
    scans: 0,
    found: 0,
    remembered: 0,
    paused: 0,
    pause: PAUSE,
    settled: false,
  }
  resize(recent, FIRST_SETS)
  return recent
}

/** Whether this call should scan its arguments (false while scanning is paused). */
export function shouldScan(recent: RecentHits): boolean {
  if (recent.paused === 0) return true
  recent.paused--
  return false
}

/** Counts a scan (or an attempt the scan gave up on) and whether it found its list; resizes or pauses. */
export function countScan(recent: RecentHits, found: boolean): void {
  if (found) recent.found++
  if (++recent.scans < WINDOW) return
  const { scans, remembered } = recent
  const sets = recent.hashes.length >> 1
  if (!recent.settled) recent.settled = true
  else if (remembered * 16 > scans && sets < MAX_SETS) {
    resize(recent, sets * 4)
    recent.settled = false
  } else if (2 * recent.found < 3 * (scans - recent.found) + 20 * remembered) {
    recent.paused = recent.pause
    recent.pause = Math.min(recent.pause * 2, MAX_PAUSE)
  } else recent.pause = PAUSE
  recent.scans = 0
  recent.found = 0
  recent.remembered = 0
}

/** Whether the last scan's tokens equal remembered ones; numbers as the encoder tells them apart (`-0` from `0`). */
function sameTokens(remembered: unknown[] | undefined): boolean {
  const n = state.count
  if (remembered === undefined || remembered.length !== n) return false
  for (let i = 0; i < n; i++) {
    const a = remembered[i]
    const b = values[i]
    if (a === b) {
      if (a === 0 && 1 / (a as number) !== 1 / (b as number)) return false
    } else if (!(Number.isNaN(a) && Number.isNaN(b))) return false
  }
  return true
}

/** The index in `recent` of the entry remembered for arguments with the last scan's tokens, or -1. */
export function findRecent(recent: RecentHits, h: number): number {
  const { hashes, tokens } = recent
  const i = (h & ((hashes.length >> 1) - 1)) << 1
  if (hashes[i] === h && sameTokens(tokens[i])) return i
  if (hashes[i + 1] === h && sameTokens(tokens[i + 1])) return i + 1
  return -1
}

/**
 * Remembers that the last scan's arguments (hash `h`) have `key`, stored in `slot`, provided the scan really gives
 * `key` (user code such as a getter may run between the scan and the key encoder).
 */
export function rememberRecent(recent: RecentHits, h: number, slot: number, key: string, start: string): void {
  if (slot === 0 || !matchesKey(key, start)) return
  recent.remembered++
  // The list that `put` drops is reused: a table that keeps replacing its lists would otherwise fill the old
  // generation with them (they live long enough to be promoted), and collecting that costs more than the misses.
  const n = state.count
  const i = ((h & ((recent.hashes.length >> 1) - 1)) << 1) + 1
  const dropped = recent.tokens[i]
  recent.tokens[i] = undefined
  const kept = dropped ?? new Array<unknown>(n)
  kept.length = n
  for (let j = 0; j < n; j++) kept[j] = values[j]
  put(recent, h, slot, key, kept)
}
