/*
 * The recursive value encoder behind createKeyEncoder (keys.ts): one function per kind of value, calling `enc`
 * for what the value holds. These functions call each other, so they stay in one module (about 280 lines): splitting
 * them would take an import cycle or the recursion passed in as an argument (an indirect call per value on the hot
 * path). What they use that is not recursive is in key-walk.ts.
 */
import { types } from 'node:util'
import { encodeBinary, isBuiltin, isDatePrototype } from './key-binary'
import { addSegment, Fail, IDENTIFIER, propertySegment } from './key-errors'
import { jsonText, NOT_JSON, shouldTryJson } from './key-json'
import { firstKey, nextKey, numberText, quote } from './key-text'
import {
  ArrayProto,
  type Context,
  constructorName,
  dateTime,
  enter,
  FAST_DEPTH,
  getProto,
  isArray,
  isEnumerable,
  isSparse,
  mapEntries,
  ObjectProto,
  objectKeys,
  ownSymbols,
  presentIndices,
  SPARSE_MIN_HOLES,
  setValues,
} from './key-walk'
import type { TypeEncoder } from './keys'

/**
 * One value's encoding at nesting `depth`; `stack` is null in the first pass and holds the enclosing objects in the
 * careful one.
 */
export function enc(v: unknown, c: Context, depth: number, stack: object[] | null): string {
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
  if (types.isDate(o) && isDatePrototype(proto)) {
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
