/*
 * What the recursive value encoder (key-value.ts) uses that is not itself recursive: the built-ins it calls, its
 * context, the depth and cycle guard of its two passes (`enter`), constructor names for errors and typed tags, and
 * the sparse-array test. Apart so that key-value.ts holds the mutually recursive functions and little else.
 */
import { CUSTOM_PROTOTYPE, Fail, MAX_DEPTH } from './key-errors'
import type { TypeEncoder } from './keys'

// The built-ins the value encoder calls, here and in key-value.ts, taken once when this module loads.
export const ObjectProto = Object.prototype
export const ArrayProto = Array.prototype
export const getProto = Object.getPrototypeOf
export const objectKeys = Object.keys
export const isArray = Array.isArray
export const ownSymbols = Object.getOwnPropertySymbols
export const isEnumerable = (o: object, k: PropertyKey) => ObjectProto.propertyIsEnumerable.call(o, k)
export const dateTime = Date.prototype.getTime
export const mapEntries = Map.prototype.entries
export const setValues = Set.prototype.values
export const ownNames = Object.getOwnPropertyNames

/** What one encoder needs to know; `encoders` is undefined when there are none, so the check is one comparison. */
export interface Context {
  readonly typed: boolean
  readonly encoders: readonly TypeEncoder[] | undefined
}

// The first pass keeps no list of enclosing objects (it is the hot path); it only counts depth. Anything nested
// deeper than FAST_DEPTH, which includes every cycle, is encoded again by a careful pass that checks for cycles.
export const FAST_DEPTH = 64
export const RETRY: unique symbol = Symbol('memokit.keys.retry')

/**
 * Enters a container: the first pass (`stack` null) only counts depth and throws RETRY past FAST_DEPTH; the
 * careful pass fails on a cycle or past MAX_DEPTH, and pushes `o` (the caller pops it).
 */
export function enter(o: object, depth: number, stack: object[] | null): void {
  if (stack === null) {
    if (depth > FAST_DEPTH) throw RETRY
    return
  }
  if (stack.includes(o)) throw new Fail('cycle', 'cycle')
  if (depth > MAX_DEPTH) throw new Fail(constructorName(o), 'depth')
  stack.push(o)
}

/** The name of `o`'s class, for errors and typed tags; CUSTOM_PROTOTYPE when it has none worth showing. */
export function constructorName(o: object): string {
  try {
    if (typeof o === 'function') return 'function'
    const proto = getProto(o) as { constructor?: unknown } | null
    const ctor = proto?.constructor
    if (typeof ctor === 'function' && ctor.prototype === proto && typeof ctor.name === 'string' && ctor.name !== '') {
      return ctor.name
    }
  } catch {
    // A hostile proxy or getter: the type stays unnamed.
  }
  return CUSTOM_PROTOTYPE
}

// An array with more holes than this, and more holes than elements, is encoded by its elements and its length,
// so a huge `length` costs nothing. Fewer holes keep the slot-by-slot form (and the keys of earlier versions).
export const SPARSE_MIN_HOLES = 64

/**
 * Whether an array of `length` slots holding `elements` of them is encoded in its sparse form,
 * `Array(length)[index:value,...]`, rather than slot by slot. The argument scan does not need it: it reads such an
 * array slot by slot, so its text never matches the key and the array takes the encoder's path.
 */
export const isSparse = (length: number, elements: number): boolean =>
  length - elements > SPARSE_MIN_HOLES && length - elements > elements

/** The indices of an array's elements (its own index properties), ascending, in time proportional to them. */
export function presentIndices(a: readonly unknown[], n: number): number[] {
  const indices: number[] = []
  let sorted = true
  for (const k of ownNames(a)) {
    const i = Number(k)
    // Array indices come first in ascending order; anything else (`length`, other properties) is skipped.
    if (!(i < n && String(i) === k)) continue
    if (indices.length !== 0 && i < (indices[indices.length - 1] as number)) sorted = false
    indices.push(i)
  }
  // Only a Proxy can list its keys in another order.
  return sorted ? indices : indices.sort((x, y) => x - y)
}
