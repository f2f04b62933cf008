import { createHash, type Hash } from 'node:crypto'
import { types } from 'node:util'
import { KeyError } from './errors'
import { encodeBinary, isBuiltin } from './key-binary'
import {
  addSegment,
  CUSTOM_PROTOTYPE,
  describeError,
  Fail,
  IDENTIFIER,
  MAX_DEPTH,
  propertySegment,
  toKeyError,
  validateKeyOptions,
} from './key-errors'
import { jsonText, NOT_JSON, resetJsonWork, shouldTryJson } from './key-json'
import { escapeKeyPart } from './key-part'
import { firstKey, MAX_READABLE, nextKey, numberText, quote } from './key-text'

export { MAX_READABLE, needsEscape, numberText, quote } from './key-text'

/**
 * `[Class, encoder]`: values that are `instanceof Class` are replaced by `encoder(value)` before encoding.
 * Ordered, first match wins; applies at any depth and before the built-in handling of plain objects. The result
 * is encoded recursively (it may contain other type-encoded values). Keep encoders pure: one may run more than once
 * per call (values nested deeper than 64 levels are encoded twice).
 * @example [Decimal, (d) => d.toString()]
 */
// biome-ignore lint/suspicious/noExplicitAny: any class and any encoder must be assignable to the default
export type TypeEncoder<T = any> = readonly [abstract new (...args: any[]) => T, (value: T) => unknown]

/** Options of {@link createKeyEncoder}. */
export interface KeyEncoderOptions {
  /** The function identity (any string); the first part of every key, and named in errors. */
  readonly functionName: string
  /**
   * When true, every type-encoded value is tagged with the position of the encoder that matched it and its
   * constructor name (and null-prototype objects are kept apart from plain ones), so `f(new Decimal('1'))` and
   * `f('1')` get different keys even when Decimal's encoder returns `'1'`, and so do two classes that share a name
   * but not an encoder. When false they share a key. Every other value's type is always part of its encoding.
   * Default: false.
   */
  readonly typed?: boolean
  /** How to encode class instances; see {@link TypeEncoder}. Default: `[]` (a class instance is a KeyError). */
  readonly typeEncoders?: readonly TypeEncoder[]
  /**
   * Argument positions (0-based) left out of the key; the values there are never read. An ignored argument still
   * counts towards the argument count, so `f(1)` and `f(1, logger)` have different keys. Default: `[]`.
   */
  readonly ignoreArgs?: readonly number[]
  /**
   * A custom key function, called with the arguments; its result is encoded like arguments are (under its own
   * tag, so it never collides with an argument-list encoding). Cannot be combined with `ignoreArgs`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the wrapped function's parameters are the caller's business
  readonly key?: (...args: any[]) => unknown
}

// An array with more holes than this, and more holes than elements, is encoded by its elements and its length,
// so a huge `length` costs nothing. Fewer holes keep the slot-by-slot form (and the keys of earlier versions).
const SPARSE_MIN_HOLES = 64

/**
 * Returns a function that turns an argument list into a storage key: `${escapeKeyPart(functionName)}:${encoding}`.
 *
 * The encoding is canonical and injective over the supported values, identical in every process, Node version
 * and machine (it depends only on values, never on insertion order, `toString`, locale or endianness):
 * - argument list `[a,b]` (argument count matters: `f()`, `f(undefined)` differ); ignored positions are `*`;
 *   a custom key's result is `~` + its encoding; an encoding over 200 UTF-16 units becomes `#` + its SHA-256
 *   (all 256 bits, 43 base64url chars). The function identity before the `:` is never hashed.
 * - strings as JSON strings (lone surrogates escaped), numbers with `Object.is` semantics (`-0` and `0` differ,
 *   NaN is stable), `1n`, `true`, `null`, `undefined` all distinct.
 * - plain and null-prototype objects: own enumerable string keys, sorted; `{a: undefined}` differs from `{}`.
 *   Non-enumerable properties are not part of the key; an enumerable symbol key is a KeyError.
 * - arrays (only `Array` itself, not subclasses) by index; holes differ from `undefined` (`_`); non-index
 *   properties of arrays are not part of the key. An array with more than 64 holes and more holes than elements
 *   is `Array(length)[index:value,...]`, in time proportional to its elements, whatever its length.
 * - Map and Set sorted by their entries' encodings (so insertion order doesn't matter); Date by time value (an
 *   invalid Date is `Date(NaN)`); ArrayBuffer, SharedArrayBuffer and DataView by bytes; typed arrays by element
 *   values, tagged with their type, except that a NaN in a float array other than the one `NaN` is stored as
 *   carries its bits (`NaN:fff8000000000000`): a function reading the bytes would see them. A Buffer and a
 *   Uint8Array with the same bytes have DIFFERENT keys (a function may treat them differently; e.g. their
 *   `toString` differs).
 * - with `typed`, a type-encoded value is `@<encoder position>:<constructor name>(<encoding>)`.
 * - functions, symbols, class instances without a type encoder (anything else whose prototype isn't
 *   Object.prototype or null: WeakMap, Promise, RegExp, Error, URL, boxed primitives, subclasses of built-ins),
 *   cycles and nesting deeper than 500 are a `KeyError` naming the path, the type and the function, thrown
 *   before anything runs. Repeated (non-cyclic) references to one object are fine.
 *
 * Throws a `ConfigError` at once for invalid options.
 */
export function createKeyEncoder(options: KeyEncoderOptions): (args: readonly unknown[]) => string {
  const { functionName, typed = false, typeEncoders = [], ignoreArgs = [], key } = validateKeyOptions(options)
  const prefix = `${escapeKeyPart(functionName)}:`
  const openList = `${prefix}[`
  const context: Context = { typed, encoders: typeEncoders.length > 0 ? typeEncoders : undefined }

  if (key !== undefined) {
    return (args) => {
      let result: unknown
      try {
        result = key(...args)
      } catch (error) {
        throw new KeyError(
          `${functionName}: the custom key function threw (${describeError(error)}); cannot build a cache key`,
          { path: 'key(...args)', valueType: 'error', functionName },
          { cause: error },
        )
      }
      let encoding: string
      try {
        encoding = encodeTop(result, context)
      } catch (error) {
        throw toKeyError(error, 'key(...args)', functionName)
      }
      // Hashed in two pieces: `~` + a long encoding would be copied whole first.
      return encoding.length + 1 > MAX_READABLE
        ? `${prefix}#${createHash('sha256').update('~').update(encoding).digest('base64url')}`
        : `${prefix}~${encoding}`
    }
  }

  const ignored: boolean[] | undefined = ignoreArgs.length > 0 ? [] : undefined
  for (const i of ignoreArgs) (ignored as boolean[])[i] = true

  return (args) => {
    // The most common call shape, one primitive argument, skips the generic loop; must equal its output.
    if (args.length === 1 && ignored === undefined) {
      const a = args[0]
      if (typeof a === 'number') return `${openList}${numberText(a)}]`
      if (typeof a === 'string' && a.length < MAX_READABLE) {
        const q = quote(a)
        if (q.length < MAX_READABLE - 1) return `${openList}${q}]`
      }
    }
    try {
      try {
        return encodeList(openList, prefix, args, context, ignored, null)
      } catch (error) {
        if (error !== RETRY) throw error
        return encodeList(openList, prefix, args, context, ignored, [])
      }
    } catch (error) {
      throw toKeyError(error, 'args', functionName)
    }
  }
}

// An argument encoding this long is hashed on its own rather than appended: the key string would otherwise be
// copied whole before hashing (a tenth of the time for a 1,000,000-number array). The digest is the same, as
// every piece ends on a whole character.
const STREAM = 4096

/**
 * The key of an argument list: `prefix` followed by `[a,b,...]` (ignored positions are `*`), or by `#` and the
 * SHA-256 of that list when it is longer than MAX_READABLE. `start` is `prefix` and `[`, made once per encoder.
 */
function encodeList(
  start: string,
  prefix: string,
  args: readonly unknown[],
  c: Context,
  ignored: readonly boolean[] | undefined,
  stack: object[] | null,
): string {
  // The list is built onto the prefix directly: one string concatenation fewer on every call.
  let s = start
  let hash: Hash | undefined
  let i = 0
  resetJsonWork()
  try {
    for (; i < args.length; i++) {
      const e = ignored !== undefined && ignored[i] === true ? '*' : enc(args[i], c, 0, stack)
      if (hash === undefined && e.length < STREAM) {
        if (i !== 0) s += ','
        s += e
        continue
      }
      if (hash === undefined) hash = createHash('sha256').update(s.slice(prefix.length))
      if (i !== 0) hash.update(',')
      hash.update(e)
    }
  } catch (error) {
    if (error instanceof Fail) {
      error.segments.push(`[${i}]`)
      error.argIndex = i
    }
    throw error
  }
  if (hash !== undefined) return `${prefix}#${hash.update(']').digest('base64url')}`
  return s.length - prefix.length + 1 > MAX_READABLE
    ? `${prefix}#${createHash('sha256').update(s.slice(prefix.length)).update(']').digest('base64url')}`
    : `${s}]`
}

const ObjectProto = Object.prototype
const ArrayProto = Array.prototype
const getProto = Object.getPrototypeOf
const objectKeys = Object.keys
const isArray = Array.isArray
const ownSymbols = Object.getOwnPropertySymbols
const isEnumerable = (o: object, k: PropertyKey) => ObjectProto.propertyIsEnumerable.call(o, k)
const dateTime = Date.prototype.getTime
const mapEntries = Map.prototype.entries
const setValues = Set.prototype.values
const ownNames = Object.getOwnPropertyNames

/** What one encoder needs to know; `encoders` is undefined when there are none, so the check is one comparison. */
interface Context {
  readonly typed: boolean
  readonly encoders: readonly TypeEncoder[] | undefined
}

// The first pass keeps no list of enclosing objects (it is the hot path); it only counts depth. Anything nested
// deeper than FAST_DEPTH, which includes every cycle, is encoded again by a careful pass that checks for cycles.
const FAST_DEPTH = 64
const RETRY: unique symbol = Symbol('memokit.keys.retry')

function encodeTop(v: unknown, c: Context): string {
  resetJsonWork()
  try {
    return enc(v, c, 0, null)
  } catch (error) {
    if (error !== RETRY) throw error
    return enc(v, c, 0, [])
  }
}

function enc(v: unknown, c: Context, depth: number, stack: object[] | null): string {
  switch (typeof v) {
    case 'string':
      return quote(v)
    case 'number':
      return numberText(v)
    case 'boolean':
      return v ? 'true' : 'false'
    case 'undefined':
      return 'undefined'
    case 'bigint':
      return `${v}n`
    case 'object':
      return v === null ? 'null' : encObject(v, c, depth, stack)
    case 'function':
      if (c.encoders !== undefined) {
        const encoded = encodeWithEncoder(v, c, depth, stack, c.encoders)
        if (encoded !== undefined) return encoded
      }
      throw new Fail('function', 'function')
    default:
      throw new Fail('symbol', 'symbol')
  }
}

function enter(o: object, depth: number, stack: object[] | null): void {
  if (stack === null) {
    if (depth > FAST_DEPTH) throw RETRY
    return
  }
  if (stack.includes(o)) throw new Fail('cycle', 'cycle')
  if (depth > MAX_DEPTH) throw new Fail(constructorName(o), 'depth')
  stack.push(o)
}

function encodeWithEncoder(
  o: object,
  c: Context,
  depth: number,
  stack: object[] | null,
  encoders: readonly TypeEncoder[],
): string | undefined {
  for (let position = 0; position < encoders.length; position++) {
    const [cls, encoder] = encoders[position] as TypeEncoder
    if (!(o instanceof cls)) continue
    enter(o, depth, stack)
    let replacement: unknown
    try {
      replacement = encoder(o)
    } catch (error) {
      throw new Fail(constructorName(o), 'encoder', error)
    }
    if (replacement === o) throw new Fail(constructorName(o), 'self')
    let s: string
    try {
      s = enc(replacement, c, depth + 1, stack)
    } catch (error) {
      addSegment(error, `<encoded ${constructorName(o)}>`)
      throw error
    }
    stack?.pop()
    if (!c.typed) return s
    // The position tells apart classes that share a name (two modules' `Money`); the name, subclasses that share
    // an encoder. Both are the same in every process that runs the same code.
    const name = constructorName(o)
    return `@${position}:${IDENTIFIER.test(name) ? name : JSON.stringify(name)}(${s})`
  }
  return undefined
}

function encObject(o: object, c: Context, depth: number, stack: object[] | null): string {
  if (c.encoders !== undefined) {
    const encoded = encodeWithEncoder(o, c, depth, stack, c.encoders)
    if (encoded !== undefined) return encoded
  }
  // Separate call sites for arrays and objects keep each prototype lookup monomorphic (measurably faster).
  if (isArray(o)) {
    const arrayProto = getProto(o) as object
    if (arrayProto === ArrayProto) return encArray(o, c, depth, stack)
    return encBuiltin(o, arrayProto, c, depth, stack)
  }
  const proto = getProto(o) as object | null
  if (proto === ObjectProto || proto === null) {
    return encPlain(o as Record<string, unknown>, c, depth, stack, proto === null)
  }
  return encBuiltin(o, proto, c, depth, stack)
}

function encPlain(
  o: Record<string, unknown>,
  c: Context,
  depth: number,
  stack: object[] | null,
  nullProto: boolean,
): string {
  // A symbol-keyed property would be invisible in the key, so two calls that differ only there would share it.
  const symbols = ownSymbols(o)
  if (symbols.length !== 0) {
    for (const sym of symbols) {
      if (isEnumerable(o, sym)) {
        const f = new Fail('symbol', 'symbol-key')
        f.segments.push(`[${String(sym)}]`)
        throw f
      }
    }
  }
  const keys = objectKeys(o)
  const n = keys.length
  const open = c.typed && nullProto ? '(null){' : '{'
  if (n === 0) return `${open}}`
  if (stack === null && c.encoders === undefined && shouldTryJson(n)) {
    const text = jsonText(o, depth, FAST_DEPTH, c.typed)
    if (text !== NOT_JSON) return text
  }
  if (n > 1) {
    // Literals are usually written in one order; checking is cheaper than sorting.
    for (let i = 1; i < n; i++) {
      if ((keys[i - 1] as string) > (keys[i] as string)) {
        keys.sort()
        break
      }
    }
  }
  enter(o, depth, stack)
  let s = open
  let k = ''
  try {
    for (let i = 0; i < n; i++) {
      k = keys[i] as string
      s += i === 0 ? firstKey(k) : nextKey(k)
      s += enc(o[k], c, depth + 1, stack)
    }
  } catch (error) {
    addSegment(error, propertySegment(k))
    throw error
  }
  stack?.pop()
  return `${s}}`
}

function encArray(a: readonly unknown[], c: Context, depth: number, stack: object[] | null): string {
  const n = a.length
  if (n === 0) return '[]'
  // Only in the first pass: the careful one looks for cycles, which a copy would follow to the depth limit.
  if (stack === null && c.encoders === undefined && shouldTryJson(n)) {
    const text = jsonText(a, depth, FAST_DEPTH, c.typed)
    if (text !== NOT_JSON) return text
  }
  enter(a, depth, stack)
  let s = '['
  let i = 0
  // Holes seen so far, until the sparse form is ruled out (-1). Before it can apply, at least as many elements
  // as holes have been read, so the slot-by-slot scan costs at most twice the elements plus 64.
  let holes = 0
  let present: number[] | undefined
  try {
    for (; i < n; i++) {
      if (i !== 0) s += ','
      const x = a[i]
      if (x !== undefined || i in a) {
        s += enc(x, c, depth + 1, stack)
        continue
      }
      s += '_'
      if (holes >= 0 && ++holes > SPARSE_MIN_HOLES && holes > i + 1 - holes) {
        present = presentIndices(a, n)
        if (isSparse(n, present.length)) break
        present = undefined
        holes = -1
      }
    }
  } catch (error) {
    addSegment(error, `[${i}]`)
    throw error
  }
  if (present !== undefined) s = encSparse(a, n, present, c, depth, stack)
  stack?.pop()
  return `${s}]`
}

/**
 * Whether an array of `length` slots holding `elements` of them is encoded in its sparse form,
 * `Array(length)[index:value,...]`, rather than slot by slot. The argument scan uses it to leave such arrays to
 * the encoder.
 */
export const isSparse = (length: number, elements: number): boolean =>
  length - elements > SPARSE_MIN_HOLES && length - elements > elements

/** The indices of an array's elements (its own index properties), ascending, in time proportional to them. */
function presentIndices(a: readonly unknown[], n: number): number[] {
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

/** `Array(length)[index:value,...` (without the closing bracket), elements in ascending index order. */
function encSparse(
  a: readonly unknown[],
  n: number,
  indices: readonly number[],
  c: Context,
  depth: number,
  stack: object[] | null,
): string {
  let s = `Array(${n})[`
  let i = 0
  try {
    for (let j = 0; j < indices.length; j++) {
      i = indices[j] as number
      s += `${j === 0 ? '' : ','}${i}:${enc(a[i], c, depth + 1, stack)}`
    }
  } catch (error) {
    addSegment(error, `[${i}]`)
    throw error
  }
  return s
}

function encBuiltin(o: object, proto: object, c: Context, depth: number, stack: object[] | null): string {
  if (types.isDate(o) && isBuiltin(proto, Date.prototype, 'Date', 2)) {
    // Time values are integers or NaN, never -0, so the number's text is canonical.
    return `Date(${dateTime.call(o)})`
  }
  if (Array.isArray(o) && isBuiltin(proto, ArrayProto, 'Array', 2)) return encArray(o, c, depth, stack)
  if (types.isMap(o) && isBuiltin(proto, Map.prototype, 'Map', 2)) {
    enter(o, depth, stack)
    const parts: string[] = []
    let index = 0
    let ek: string | undefined
    try {
      for (const [k, v] of mapEntries.call(o as Map<unknown, unknown>)) {
        ek = undefined
        ek = enc(k, c, depth + 1, stack)
        parts.push(`${ek}=>${enc(v, c, depth + 1, stack)}`)
        index++
      }
    } catch (error) {
      addSegment(
        error,
        ek === undefined ? `<Map key #${index}>` : `.get(${ek.length > 40 ? `${ek.slice(0, 40)}…` : ek})`,
      )
      throw error
    }
    stack?.pop()
    return `Map{${parts.sort().join(',')}}`
  }
  if (types.isSet(o) && isBuiltin(proto, Set.prototype, 'Set', 2)) {
    enter(o, depth, stack)
    const parts: string[] = []
    let index = 0
    try {
      for (const v of setValues.call(o as Set<unknown>)) {
        parts.push(enc(v, c, depth + 1, stack))
        index++
      }
    } catch (error) {
      addSegment(error, `<Set element #${index}>`)
      throw error
    }
    stack?.pop()
    return `Set{${parts.sort().join(',')}}`
  }
  const binary = encodeBinary(o, proto)
  if (binary !== undefined) return binary
  // A plain object from another realm (vm context, jest's sandbox vs Node's own modules).
  if (isBuiltin(proto, ObjectProto, 'Object', 1)) return encPlain(o as Record<string, unknown>, c, depth, stack, false)
  throw new Fail(constructorName(o), 'unsupported')
}

function constructorName(o: object): string {
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
