import { createHash } from 'node:crypto'
import { types } from 'node:util'
import { ConfigError, KeyError } from './errors'
import { escapeKeyPart } from './key-part'

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
   * When true, the constructor name of every type-encoded value takes part in the key (and null-prototype objects
   * are kept apart from plain ones), so `f(new Decimal('1'))` and `f('1')` get different keys even when Decimal's
   * encoder returns `'1'`. When false they share a key. Every other value's type is always part of its encoding.
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

// Encodings up to this many UTF-16 code units stay readable in the key; longer ones are replaced by a digest.
export const MAX_READABLE = 200
// Containers nested deeper than this are a KeyError rather than a stack overflow (also stops encoder loops).
const MAX_DEPTH = 500

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
 * - arrays (only `Array` itself, not subclasses) by index; holes differ from `undefined`; non-index properties
 *   of arrays are not part of the key.
 * - Map and Set sorted by their entries' encodings (so insertion order doesn't matter); Date by time value (an
 *   invalid Date is `Date(NaN)`); ArrayBuffer, SharedArrayBuffer and DataView by bytes; typed arrays by element
 *   values, tagged with their type. A Buffer and a Uint8Array with the same bytes have DIFFERENT keys (a function
 *   may treat them differently; e.g. their `toString` differs).
 * - functions, symbols, class instances without a type encoder (anything else whose prototype isn't
 *   Object.prototype or null: WeakMap, Promise, RegExp, Error, URL, boxed primitives, subclasses of built-ins),
 *   cycles and nesting deeper than 500 are a `KeyError` naming the path, the type and the function, thrown
 *   before anything runs. Repeated (non-cyclic) references to one object are fine.
 *
 * Throws a `ConfigError` at once for invalid options.
 */
export function createKeyEncoder(options: KeyEncoderOptions): (args: readonly unknown[]) => string {
  const { functionName, typed = false, typeEncoders = [], ignoreArgs = [], key } = validate(options)
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

function validate(options: KeyEncoderOptions): KeyEncoderOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('options', 'key options must be an object')
  }
  const { functionName, typed, typeEncoders, ignoreArgs, key } = options
  if (typeof functionName !== 'string') {
    throw new ConfigError('name', `the function name must be a string, got ${typeName(functionName)}`)
  }
  const who = `${functionName}:`
  if (typed !== undefined && typeof typed !== 'boolean') {
    throw new ConfigError('typed', `${who} typed must be true or false, got ${typeName(typed)}`)
  }
  if (key !== undefined && typeof key !== 'function') {
    throw new ConfigError('key', `${who} key must be a function (...args) => value, got ${typeName(key)}`)
  }
  if (typeEncoders !== undefined) {
    if (!Array.isArray(typeEncoders)) {
      throw new ConfigError(
        'typeEncoders',
        `${who} typeEncoders must be an array of [Class, encoder] pairs, e.g. typeEncoders: [[Decimal, (d) => d.toString()]]`,
      )
    }
    typeEncoders.forEach((pair: unknown, index) => {
      const p = pair as readonly unknown[]
      const cls = Array.isArray(p) ? p[0] : undefined
      const ok =
        Array.isArray(p) &&
        p.length === 2 &&
        typeof cls === 'function' &&
        typeof (cls as { prototype?: unknown }).prototype === 'object' &&
        (cls as { prototype?: unknown }).prototype !== null &&
        typeof p[1] === 'function'
      if (!ok) {
        throw new ConfigError(
          'typeEncoders',
          `${who} typeEncoders[${index}] must be a [Class, encoder] pair (a class or constructor function, then a function of the instance), e.g. [Decimal, (d) => d.toString()]`,
        )
      }
    })
  }
  if (ignoreArgs !== undefined) {
    if (!Array.isArray(ignoreArgs)) {
      throw new ConfigError('ignoreArgs', `${who} ignoreArgs must be an array of argument positions, e.g. [1]`)
    }
    const seen = new Set<number>()
    ignoreArgs.forEach((position: unknown, index) => {
      if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) {
        throw new ConfigError(
          'ignoreArgs',
          `${who} ignoreArgs[${index}] must be a 0-based argument position (a non-negative integer), got ${describeValue(position)}`,
        )
      }
      if (seen.has(position)) {
        throw new ConfigError('ignoreArgs', `${who} ignoreArgs lists position ${position} twice`)
      }
      seen.add(position)
    })
    if (key !== undefined && ignoreArgs.length > 0) {
      throw new ConfigError(
        'ignoreArgs',
        `${who} key and ignoreArgs cannot be combined: a custom key already decides which arguments matter, so leave them out of the key function instead`,
      )
    }
  }
  return options
}

/** Why encoding failed and where; segments are appended innermost first while the recursion unwinds. */
class Fail {
  readonly segments: string[] = []
  /** The argument the value sits in; undefined inside a custom key's result. */
  argIndex: number | undefined = undefined
  constructor(
    readonly valueType: string,
    readonly reason: 'unsupported' | 'function' | 'symbol' | 'symbol-key' | 'cycle' | 'depth' | 'encoder' | 'self',
    readonly cause?: unknown,
  ) {}
}

function addSegment(error: unknown, segment: string): void {
  if (error instanceof Fail) error.segments.push(segment)
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

function propertySegment(k: string): string {
  return IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`
}

const ObjectProto = Object.prototype
const ArrayProto = Array.prototype
const getProto = Object.getPrototypeOf
const objectKeys = Object.keys
const isArray = Array.isArray
const ownSymbols = Object.getOwnPropertySymbols
const isEnumerable = (o: object, k: PropertyKey) => ObjectProto.propertyIsEnumerable.call(o, k)
const TypedArrayProto = getProto(Uint8Array.prototype) as object
const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArrayProto, Symbol.toStringTag)?.get as (
  this: unknown,
) => string | undefined
const dateTime = Date.prototype.getTime
const mapEntries = Map.prototype.entries
const setValues = Set.prototype.values
const BYTE_ARRAYS = new Set(['Uint8Array', 'Int8Array', 'Uint8ClampedArray'])

/**
 * A built-in object must have the built-in prototype itself (not a subclass, whose methods may mean something
 * else). `protoDepth` is the prototype chain length of a genuine instance, which also recognises instances from
 * another realm (vm contexts, jest) whose prototypes are different objects with the same shape.
 */
function isBuiltin(proto: object, own: object, name: string, protoDepth: number): boolean {
  if (proto === own) return true
  const ctor = (proto as { constructor?: unknown }).constructor
  if (typeof ctor !== 'function' || ctor.name !== name) return false
  let p: object | null = proto
  for (let d = 0; d < protoDepth; d++) p = p === null ? null : (getProto(p) as object | null)
  return p === null
}

function bytes(buffer: ArrayBufferLike, offset: number, length: number): string {
  return Buffer.from(buffer, offset, length).toString('base64')
}

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
  for (const [cls, encoder] of encoders) {
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
    const name = constructorName(o)
    return `@${IDENTIFIER.test(name) ? name : JSON.stringify(name)}(${s})`
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
  try {
    for (; i < n; i++) {
      if (i !== 0) s += ','
      const x = a[i]
      s += x === undefined && !(i in a) ? '_' : enc(x, c, depth + 1, stack)
    }
  } catch (error) {
    addSegment(error, `[${i}]`)
    throw error
  }
  stack?.pop()
  return `${s}]`
}

function encBuiltin(o: object, proto: object, c: Context, depth: number, stack: object[] | null): string {
  if (types.isDate(o) && isBuiltin(proto, Date.prototype, 'Date', 2)) {
    // Time values are integers or NaN, never -0, so the number's text is canonical.
    return `Date(${dateTime.call(o)})`
  }
  if (Array.isArray(o) && isBuiltin(proto, ArrayProto, 'Array', 2)) return encArray(o, c, depth, stack)
  if (Buffer.isBuffer(o)) return `Buffer(${bytes(o.buffer, o.byteOffset, o.byteLength)})`
  if (types.isTypedArray(o)) {
    const tag = typedArrayTag.call(o) as string
    const own = (globalThis as unknown as Record<string, { prototype: object } | undefined>)[tag]?.prototype
    if (isBuiltin(proto, own ?? proto, tag, 3)) {
      if (BYTE_ARRAYS.has(tag)) return `${tag}(${bytes(o.buffer, o.byteOffset, o.byteLength)})`
      // Multi-byte elements by value, not bytes: bytes would depend on the machine's endianness.
      let s = `${tag}[`
      const elements = o as unknown as ArrayLike<number | bigint>
      for (let i = 0; i < elements.length; i++) {
        const x = elements[i] as number | bigint
        s += `${i === 0 ? '' : ','}${typeof x === 'bigint' ? `${x}n` : numberText(x)}`
      }
      return `${s}]`
    }
  }
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
  if (types.isArrayBuffer(o) && isBuiltin(proto, ArrayBuffer.prototype, 'ArrayBuffer', 2)) {
    return `ArrayBuffer(${bytes(o, 0, o.byteLength)})`
  }
  if (types.isSharedArrayBuffer(o) && isBuiltin(proto, SharedArrayBuffer.prototype, 'SharedArrayBuffer', 2)) {
    return `SharedArrayBuffer(${bytes(o, 0, o.byteLength)})`
  }
  if (types.isDataView(o) && isBuiltin(proto, DataView.prototype, 'DataView', 2)) {
    return `DataView(${bytes(o.buffer, o.byteOffset, o.byteLength)})`
  }
  // A plain object from another realm (vm context, jest's sandbox vs Node's own modules).
  if (isBuiltin(proto, ObjectProto, 'Object', 1)) return encPlain(o as Record<string, unknown>, c, depth, stack, false)
  throw new Fail(constructorName(o), 'unsupported')
}

// Object keys repeat from call to call, so their encoded forms (`"k":` and `,"k":`) are remembered: fewer string
// concatenations is what makes encoding fast. Bounded, and only short keys, so memory stays small.
const firstKeys = new Map<string, string>()
const nextKeys = new Map<string, string>()
const MAX_REMEMBERED_KEYS = 2048

function firstKey(k: string): string {
  let q = firstKeys.get(k)
  if (q === undefined) {
    q = `${quote(k)}:`
    if (k.length <= 64 && firstKeys.size < MAX_REMEMBERED_KEYS) firstKeys.set(k, q)
  }
  return q
}

function nextKey(k: string): string {
  let q = nextKeys.get(k)
  if (q === undefined) {
    q = `,${quote(k)}:`
    if (k.length <= 64 && nextKeys.size < MAX_REMEMBERED_KEYS) nextKeys.set(k, q)
  }
  return q
}

/** A number's text in keys: `-0` kept apart from `0`, every other number as `String(n)` (NaN is stable). */
export const numberText = (n: number): string => (n === 0 && 1 / n < 0 ? '-0' : `${n}`)

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON must escape
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/**
 * Exactly `JSON.stringify(s)`, fast when nothing needs escaping. Lone surrogates are escaped so the key is
 * well-formed Unicode: storages that hold UTF-8 would otherwise turn different lone surrogates into the same U+FFFD.
 */
export function quote(s: string): string {
  return needsEscape(s) ? JSON.stringify(s) : `"${s}"`
}

/** Whether JSON writes `s` other than as `"${s}"`: a quote, backslash, control character or surrogate in it. */
export function needsEscape(s: string): boolean {
  const n = s.length
  if (n < 32) {
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true
    }
    return false
  }
  return NEEDS_ESCAPE.test(s)
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
  return 'object with a custom prototype'
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  return typeof v === 'object' ? constructorName(v) : typeof v
}

function describeValue(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeof v === 'string' ? JSON.stringify(v) : typeName(v)
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

function toKeyError(error: unknown, root: string, functionName: string): unknown {
  if (!(error instanceof Fail)) return error
  const segments = error.segments.reverse()
  // A path hundreds of levels deep (a runaway type encoder) is shortened to its ends.
  const path =
    root +
    (segments.length > 16 ? `${segments.slice(0, 6).join('')}…${segments.slice(-6).join('')}` : segments.join(''))
  const { valueType, reason, argIndex } = error
  const ignore = argIndex === undefined ? undefined : `ignoreArgs: [${argIndex}]`
  const leaveOut =
    ignore === undefined
      ? 'change the custom key function so it returns only encodable values'
      : `leave the argument out of the key with ${ignore}, or pick what matters with a custom key: (...args) => ...`
  const encoderHint = `typeEncoders: [[${IDENTIFIER.test(valueType) ? valueType : 'TheClass'}, (value) => ...]]`
  let what: string
  let fix: string
  switch (reason) {
    case 'unsupported':
      what = `is a ${valueType} instance, which memokit cannot encode (built in: primitives, plain objects, arrays, Map, Set, Date, typed arrays, Buffer, ArrayBuffer, DataView)`
      fix = `encode it with ${encoderHint}, or ${leaveOut}`
      break
    case 'function':
      what = 'is a function, which cannot be part of a cache key'
      fix = leaveOut
      break
    case 'symbol':
      what = 'is a symbol, which cannot be part of a cache key (symbols are unique per process)'
      fix = leaveOut
      break
    case 'symbol-key':
      what = 'is a symbol-keyed property, which cannot be part of a cache key (symbols are unique per process)'
      fix = leaveOut
      break
    case 'cycle':
      what = 'refers back to an object that contains it (a cycle), which cannot be encoded'
      fix = leaveOut
      break
    case 'depth':
      what = `is nested more than ${MAX_DEPTH} levels deep (a type encoder that returns another value it matches?)`
      fix = leaveOut
      break
    case 'encoder':
      what = `is a ${valueType} whose type encoder threw (${describeError(error.cause)})`
      fix = 'fix the type encoder'
      break
    case 'self':
      what = `is a ${valueType} whose type encoder returned the value itself, which would loop forever`
      fix = 'make the type encoder return a plain representation such as a string or plain object'
      break
  }
  return new KeyError(
    `${functionName}: cannot build a cache key: ${path} ${what}; ${fix}`,
    { path, valueType, functionName },
    error.cause === undefined ? undefined : { cause: error.cause },
  )
}
