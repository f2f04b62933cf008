/*
 * The key encoder as it was before the JSON fast path (commit ee2b79b, packages/core/src/keys.ts and the leaf texts
 * of key-text.ts), frozen as the reference the current encoder must equal on every input: keys are persisted in
 * shared storages, so a changed key would make every replica miss. Only the option checks, errors and binary
 * encodings are imported (the fast path does not touch them). Do not "fix" this file; it is the old behaviour.
 */
import { createHash } from 'node:crypto'
import { types } from 'node:util'
import { KeyError } from '../src/errors'
import { encodeBinary, isBuiltin } from '../src/key-binary'
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
} from '../src/key-errors'
import { escapeKeyPart } from '../src/key-part'
import type { KeyEncoderOptions, TypeEncoder } from '../src/keys'

const MAX_READABLE = 200
const numberText = (n: number): string => (n === 0 && 1 / n < 0 ? '-0' : `${n}`)
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON must escape
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/
const quote = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`)
const firstKey = (k: string): string => `${quote(k)}:`
const nextKey = (k: string): string => `,${quote(k)}:`

// An array with more holes than this, and more holes than elements, is encoded by its elements and its length,
// so a huge `length` costs nothing. Fewer holes keep the slot-by-slot form (and the keys of earlier versions).
const SPARSE_MIN_HOLES = 64

export function createReferenceKeyEncoder(options: KeyEncoderOptions): (args: readonly unknown[]) => string {
  const { functionName, typed = false, typeEncoders = [], ignoreArgs = [], key } = validateKeyOptions(options)
  const prefix = `${escapeKeyPart(functionName)}:`
  const openList = `${prefix}[`
  const context: Context = { typed, encoders: typeEncoders.length > 0 ? typeEncoders : undefined }

  const finish = (encoding: string): string =>
    encoding.length > MAX_READABLE
      ? `${prefix}#${createHash('sha256').update(encoding).digest('base64url')}`
      : prefix + encoding

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
        encoding = `~${encodeTop(result, context)}`
      } catch (error) {
        throw toKeyError(error, 'key(...args)', functionName)
      }
      return finish(encoding)
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
    // The list is built onto the prefix directly: one string concatenation fewer on every call.
    let key: string
    try {
      try {
        key = encodeList(openList, args, context, ignored, null)
      } catch (error) {
        if (error !== RETRY) throw error
        key = encodeList(openList, args, context, ignored, [])
      }
    } catch (error) {
      throw toKeyError(error, 'args', functionName)
    }
    return key.length - prefix.length > MAX_READABLE ? finish(key.slice(prefix.length)) : key
  }
}

/** `start` (the key prefix and `[`) followed by the argument list `a,b,...]`; ignored positions are `*`. */
function encodeList(
  start: string,
  args: readonly unknown[],
  c: Context,
  ignored: readonly boolean[] | undefined,
  stack: object[] | null,
): string {
  let s = start
  let i = 0
  try {
    for (; i < args.length; i++) {
      if (i !== 0) s += ','
      s += ignored !== undefined && ignored[i] === true ? '*' : enc(args[i], c, 0, stack)
    }
  } catch (error) {
    if (error instanceof Fail) {
      error.segments.push(`[${i}]`)
      error.argIndex = i
    }
    throw error
  }
  return `${s}]`
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

const isSparse = (length: number, elements: number): boolean =>
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
