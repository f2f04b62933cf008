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
  if ('toJSON' in ObjectProto || 'toJSON' in ArrayProto || ArrayProto.constructor !== Array) return NOT_JSON
  if ((Array as { [Symbol.species]?: unknown })[Symbol.species] !== Array) return NOT_JSON
  work.attempt = 0
  const copy = copyValue(v, depth, maxDepth, typed)
  if (copy === NOT_JSON) {
    work.wasted += work.attempt
    return NOT_JSON
  }
  return JSON.stringify(copy)
}

function copyValue(v: unknown, depth: number, maxDepth: number, typed: boolean): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v
    case 'number':
      // Finite numbers other than -0: both write String(v).
      return v - v === 0 && (v !== 0 || 1 / v > 0) ? v : NOT_JSON
    case 'object':
      if (v === null) return v
      if (depth > maxDepth) return NOT_JSON
      return Array.isArray(v) ? copyArray(v, depth, maxDepth, typed) : copyObject(v, depth, maxDepth, typed)
    default:
      return NOT_JSON
  }
}

function copyArray(a: readonly unknown[], depth: number, maxDepth: number, typed: boolean): unknown {
  // A subclass, or an own `constructor` (which `slice` would ask for the class of its result), is left alone.
  if (getProto(a) !== ArrayProto || hasOwn(a, 'constructor')) return NOT_JSON
  // `slice` walks every index of a sparse array, however long; a hole ends this walk at the first one.
  const length = a.length
  for (let i = 0; i < length; i++) {
    if (a[i] === undefined) {
      work.attempt += i
      return NOT_JSON
    }
  }
  // One native copy reads each element once, and its result is ours to fill with the elements' copies.
  const copy = slice.call(a)
  const n = copy.length
  for (let i = 0; i < n; i++) {
    const x = copy[i]
    if (typeof x === 'number') {
      // Finite numbers other than -0: both write String(x).
      if (x - x === 0 && (x !== 0 || 1 / x > 0)) continue
    } else if (typeof x === 'string' || typeof x === 'boolean' || x === null) continue
    else if (typeof x === 'object') {
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
  if (Object.getOwnPropertySymbols(o).length !== 0) return NOT_JSON
  const keys = Object.keys(o)
  const n = keys.length
  let sorted = true
  for (let i = 1; i < n; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      sorted = false
      break
    }
  }
  if (!sorted) {
    for (let i = 0; i < n; i++) {
      const c = (keys[i] as string).charCodeAt(0)
      if (c >= 48 && c <= 57) return NOT_JSON
    }
    keys.sort()
  }
  const copy: Record<string, unknown> = {}
  for (let i = 0; i < n; i++) {
    const k = keys[i] as string
    if (k === '__proto__') return NOT_JSON
    const x = (o as Record<string, unknown>)[k]
    const c = x === undefined ? NOT_JSON : copyValue(x, depth + 1, maxDepth, typed)
    if (c === NOT_JSON) {
      work.attempt += i
      return NOT_JSON
    }
    copy[k] = c
  }
  work.attempt += n
  return copy
}
