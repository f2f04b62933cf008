/*
 * A fast path of the key encoder (keys.ts) for large values: the part of a value that the encoder writes exactly
 * as JSON.stringify would is handed to JSON.stringify, which writes into one flat buffer. Building the same text
 * piece by piece in JavaScript allocates a string per number and per concatenation: a 1,000,000-number array took
 * about 10x JSON.stringify's time, most of it in the garbage collector (bench K1).
 *
 * The value is first copied into fresh arrays and objects, reading every property once, as the encoder does, so
 * JSON.stringify never meets user code (no toJSON, no accessors, no Proxy) and the text is that of the values the
 * copy read. (When a copy is refused, the encoder reads that part again: a getter may then run twice.) The copy is refused (NOT_JSON) wherever the two texts could differ, and the encoder then does that
 * part itself:
 * - `undefined`, holes, `-0`, NaN, ±Infinity, bigints, functions, symbols (JSON writes or skips them otherwise);
 * - anything but an Array with Array.prototype or an object with Object.prototype (or a null prototype when keys
 *   are untyped): Dates, Maps, typed arrays, class instances and cross-realm objects keep their own encodings;
 * - any own symbol key (the encoder rejects the enumerable ones), the key `__proto__` (an assignment would set
 *   the copy's prototype), and keys that are not already sorted when one of them starts with a digit (JSON lists
 *   integer keys first, in numeric order, where the encoder sorts all keys as strings);
 * - nesting deeper than the encoder's fast pass allows (cycles are found by its careful pass), and any toJSON on
 *   Object.prototype or Array.prototype.
 */

const ObjectProto = Object.prototype
const ArrayProto = Array.prototype
const getProto = Object.getPrototypeOf
const hasOwn = Object.hasOwn
const slice = ArrayProto.slice
const ownSymbols = Object.getOwnPropertySymbols
const objectKeys = Object.keys

/** A copy could not be made; the encoder writes this part itself. */
export const NOT_JSON: unique symbol = Symbol('memokit.keys.not-json')

/** Work counters of the current encoding; see `shouldTryJson`. */
const work = { nodes: 0, wasted: 0, attempt: 0 }

// Containers of at least this many elements or properties try the fast path at once; smaller ones only after
// the encoding has visited BUSY elements (a tree of many small objects), so small arguments never pay for it.
const LARGE = 64
const BUSY = 1024

/** Starts the counters of one encoding. */
export function resetJsonWork(): void {
  work.nodes = 0
  work.wasted = 0
}

/**
 * Whether a container of `n` elements should try the fast path. Attempts that fail are paid from the encoder's
 * own work: while failed copies have visited more elements than the encoder has, no more are made, so a value
 * the fast path cannot take costs at most about twice what it did without it.
 */
export function shouldTryJson(n: number): boolean {
  work.nodes += n
  return (n >= LARGE || work.nodes >= BUSY) && work.wasted <= work.nodes
}

/**
 * `JSON.stringify` of a copy of `v`, equal to what the key encoder writes for it (untyped, no type encoders), or
 * NOT_JSON. `depth` is `v`'s nesting depth; nothing deeper than `maxDepth` is copied.
 */
export function jsonText(v: object, depth: number, maxDepth: number, typed: boolean): string | typeof NOT_JSON {
  if (!pristine()) return NOT_JSON
  work.attempt = 0
  let copy: unknown
  try {
    copy = copyValue(v, depth, maxDepth, typed)
  } catch {
    // A getter or Proxy trap threw. The encoder reads in its own order and may stop first at something it
    // rejects, so it decides what the caller sees.
    copy = NOT_JSON
  }
  if (copy === NOT_JSON) {
    work.wasted += work.attempt
    return NOT_JSON
  }
  return JSON.stringify(copy)
}

/**
 * Whether the built-ins the copy relies on are as the language defines them: no toJSON and no enumerable
 * property inherited by every object (for-in would list it), and `slice` making plain Arrays.
 */
function pristine(): boolean {
  if ('toJSON' in ObjectProto || 'toJSON' in ArrayProto || ArrayProto.constructor !== Array) return false
  if ((Array as { [Symbol.species]?: unknown })[Symbol.species] !== Array) return false
  for (const _ in EMPTY) return false
  return true
}
const EMPTY = {}

function copyValue(v: object, depth: number, maxDepth: number, typed: boolean): unknown {
  if (depth > maxDepth) return NOT_JSON
  return Array.isArray(v) ? copyArray(v, depth, maxDepth, typed) : copyObject(v, depth, maxDepth, typed)
}

function copyArray(a: readonly unknown[], depth: number, maxDepth: number, typed: boolean): unknown {
  // A subclass, or an own `constructor` (which `slice` would ask for the class of its result), is left alone.
  if (getProto(a) !== ArrayProto || hasOwn(a, 'constructor')) return NOT_JSON
  // `slice` walks every index of a sparse array, however long; this walk ends at the first hole. (`in` runs no
  // getter: each element is read once, by `slice`.)
  const length = a.length
  for (let i = 0; i < length; i++) {
    if (!(i in a)) {
      work.attempt += i
      return NOT_JSON
    }
  }
  // One native copy reads each element once, and its result is ours to fill with the elements' copies.
  const copy = slice.call(a)
  const n = copy.length
  for (let i = 0; i < n; i++) {
    const x = copy[i]
    if (isLeaf(x)) continue
    if (typeof x === 'object' && x !== null) {
      const c = copyValue(x, depth + 1, maxDepth, typed)
      if (c !== NOT_JSON) {
        copy[i] = c
        continue
      }
    }
    // Holes and undefined (both read as undefined), and everything else JSON writes otherwise.
    work.attempt += i
    return NOT_JSON
  }
  work.attempt += n
  return copy
}

function copyObject(o: object, depth: number, maxDepth: number, typed: boolean): unknown {
  const proto = getProto(o)
  if (proto !== ObjectProto && (proto !== null || typed)) return NOT_JSON
  if (ownSymbols(o).length !== 0) return NOT_JSON
  // One native copy reads each own enumerable property once, into data properties (`__proto__` included).
  const copy: Record<string, unknown> = { ...o }
  let previous = ''
  let sorted = true
  let n = 0
  // for-in lists the copy's own keys as Object.keys does, without allocating (jsonText rules out inherited ones).
  for (const k in copy) {
    if (n !== 0 && previous > k) sorted = false
    previous = k
    n++
    const x = copy[k]
    if (isLeaf(x)) continue
    const c = typeof x === 'object' && x !== null ? copyValue(x, depth + 1, maxDepth, typed) : NOT_JSON
    if (c === NOT_JSON) {
      work.attempt += n
      return NOT_JSON
    }
    copy[k] = c
  }
  work.attempt += n
  return sorted ? copy : sortedCopy(copy)
}

/** The copy with its keys in sorted order, as the encoder writes them; NOT_JSON where JSON would reorder them. */
function sortedCopy(o: Record<string, unknown>): unknown {
  const keys = objectKeys(o)
  for (const k of keys) {
    // JSON lists integer keys first; an assignment to `__proto__` would set the prototype.
    const c = k.charCodeAt(0)
    if ((c >= 48 && c <= 57) || k === '__proto__') return NOT_JSON
  }
  keys.sort()
  const copy: Record<string, unknown> = {}
  for (const k of keys) copy[k] = o[k]
  return copy
}

/** Whether JSON.stringify writes `x` as the encoder does: strings, booleans, null, finite numbers but -0. */
function isLeaf(x: unknown): boolean {
  if (typeof x === 'number') return x - x === 0 && (x !== 0 || 1 / x > 0)
  return typeof x === 'string' || typeof x === 'boolean' || x === null
}
