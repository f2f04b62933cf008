import { SuperJSON } from 'superjson'
import { CodecError, ConfigError } from './errors'
import type { Entry } from './storage'

/**
 * A custom type for a codec: how to recognise it and turn it into and back from JSON data.
 *
 * @example
 * codec.register<Temperature, number>({
 *   name: 'Temperature',
 *   isApplicable: (v): v is Temperature => v instanceof Temperature,
 *   serialize: (t) => t.celsius,
 *   deserialize: (c) => new Temperature(c),
 * })
 */
export interface CodecTransformer<T = unknown, J = unknown> {
  /**
   * A unique name, stored in payloads: renaming it makes old payloads unreadable (they read as misses).
   * Names starting with `memokit:` are reserved.
   */
  readonly name: string
  /** True for values this transformer handles. Called for many values while encoding: keep it cheap. */
  readonly isApplicable: (value: unknown) => value is T
  /**
   * Turns the value into plain JSON data (null, booleans, strings, finite numbers, arrays, plain objects).
   * Encoding throws a CodecError if it returns anything else.
   */
  readonly serialize: (value: T) => J
  /** Rebuilds the value from what `serialize` returned. Throw if the data is not what `serialize` makes. */
  readonly deserialize: (data: J) => T
}

/**
 * The value codec used by storages that hold strings (Redis, memcached, files, MongoDB).
 *
 * Supported values: JSON data plus `undefined` (also inside arrays and as a property value, which is kept),
 * NaN, ±Infinity, -0, BigInt, Date (also invalid ones), RegExp (source and flags), Map, Set, URL, the built-in
 * Error classes (class, name, message, stack, cause and own enumerable properties such as `code`), Buffer,
 * ArrayBuffer, DataView and every typed array (bytes in platform order, i.e. little-endian), sparse arrays, objects
 * with keys like `__proto__`, shared and circular references, and any class or type added with
 * {@link Codec.registerClass} / {@link Codec.register}. A shared object is stored as copies in the plain-JSON fast
 * path, and across the boundary of a custom-encoded value (sparse array, Error, registered type, object with a
 * `__proto__` key); a cycle through such a value makes `encode` throw a CodecError.
 * Anything else (instances of unregistered classes, Error subclasses included, functions, symbols) makes `encode`
 * throw a CodecError naming it: nothing is silently stored as `{}`. As with JSON, symbol-keyed and non-enumerable
 * properties and extra properties on arrays are not stored, and null-prototype objects come back as plain objects.
 *
 * ## Payload format (version 1)
 * Every payload is a string. Its first character tags the format and its version; value payloads end with `;`
 * so a truncated payload (even a truncated top-level number) is detected:
 * - `j<JSON>;` plain JSON, written when the value has nothing to annotate; decoded with one `JSON.parse`.
 * - `s<JSON>;` a superjson envelope `{"json":…,"meta":{…,"v":1}}` for everything else.
 * - `e<createdAt>,<expiresAt>,<value payload>` a whole {@link Entry}: the two times are ms since the epoch written
 *   as JS numbers (`expiresAt` empty when the entry never expires), followed by a `j` or `s` value payload.
 *
 * ## Version policy
 * A payload layout never changes under an existing tag: a new layout (or a superjson `meta.v` other than 1, or a
 * renamed built-in type) gets a new tag, and decoders keep reading the older tags for at least one major version.
 * Decoding a payload with an unknown tag, or a corrupt one (empty, truncated, not JSON, wrong shape, bad
 * header numbers), throws a {@link CodecError} (with the parse error as `cause` where there is one): storages let
 * it propagate from `get`, and core treats it as a miss and overwrites the entry.
 */
export interface Codec {
  /** Encodes a value into a string payload tagged with a format version. Throws a CodecError if it can't. */
  encode(value: unknown): string
  /**
   * Decodes a payload from `encode` (not one from `encodeEntry`).
   * Throws a CodecError for a corrupt payload or an unknown format version.
   */
  decode(payload: string): unknown
  /**
   * Encodes a whole entry (value, createdAt, expiresAt) into one string, so one read returns all of it.
   * Throws a CodecError if the value can't be encoded or a time is not a finite number (ms since the epoch).
   */
  encodeEntry(entry: Entry): string
  /** Decodes a payload from `encodeEntry`. Throws a CodecError for a corrupt payload or an unknown version. */
  decodeEntry(payload: string): Entry
  /**
   * Adds a custom type to this codec only (no global registry). Returns the codec for chaining.
   * Built-in types listed on {@link Codec} take precedence over registered ones.
   * Throws a ConfigError for a malformed transformer or a name already used on this codec.
   */
  register<T, J>(transformer: CodecTransformer<T, J>): Codec
  /**
   * Adds a class to this codec only: its own enumerable properties are stored (values may be any supported type)
   * and decoding restores its prototype without calling the constructor (private `#fields` are not stored).
   * For Error subclasses, `message`, `stack` and `cause` are stored too.
   * `name` (default: the class's `name`) is stored in payloads; it must be unique on this codec and stable across
   * deployments (set it explicitly if your build minifies class names). Throws a ConfigError otherwise.
   */
  registerClass(cls: new (...args: never[]) => unknown, options?: { readonly name?: string }): Codec
}

const TAG_JSON = 106 // 'j'
const TAG_SUPERJSON = 115 // 's'
const TAG_ENTRY = 101 // 'e'
const END = 59 // ';'
const RESERVED_PREFIX = 'memokit:'

// Deeper plain values go through superjson, which handles cycles; keeps the fast check's recursion bounded.
const MAX_PLAIN_DEPTH = 100

/**
 * True when `JSON.parse(JSON.stringify(value))` gives back an equal value: one walk that stops at the first thing
 * needing annotation, without allocating (for..in uses V8's enum cache).
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      // NaN, ±Infinity and -0 do not survive JSON.
      return value - value === 0 && (value !== 0 || 1 / value > 0)
    case 'object': {
      if (value === null) return true
      if (depth > MAX_PLAIN_DEPTH) return false
      const proto = Object.getPrototypeOf(value)
      if (Array.isArray(value)) {
        if (proto !== Array.prototype) return false
        const array = value
        for (let i = 0; i < array.length; i++) {
          // `undefined` (or a hole) becomes null in JSON.
          if (!isPlainJson(array[i], depth + 1)) return false
        }
        return true
      }
      if (proto !== Object.prototype && proto !== null) return false
      const record = value as Record<string, unknown>
      for (const key in record) {
        if (!isPlainJson(record[key], depth + 1)) return false
      }
      return true
    }
    default:
      return false
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

function isPlainObjectLike(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`
  if (typeof value === 'symbol') return value.toString()
  if (isObject(value)) {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor
    return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'an object of an anonymous class'
  }
  return typeof value
}

function formatPath(path: readonly (string | number)[]): string {
  let out = 'value'
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `[${JSON.stringify(part)}]`
  return out
}

/**
 * Checks superjson's output is plain JSON: superjson passes values it does not know (unregistered class instances,
 * functions, symbols) through untouched, and JSON.stringify would then store them as `{}` or drop them.
 */
function assertJson(value: unknown, path: (string | number)[]): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (value - value === 0 && (value !== 0 || 1 / value > 0)) return
      throw new CodecError(`Cannot encode ${value} returned by a custom transformer at ${formatPath(path)}.`)
    case 'object': {
      if (value === null) return
      if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) {
            throw new CodecError(
              `Cannot encode a sparse array returned by a custom transformer at ${formatPath(path)}.`,
            )
          }
          path.push(i)
          assertJson(value[i], path)
          path.pop()
        }
        return
      }
      if (isPlainObjectLike(value)) {
        const record = value as Record<string, unknown>
        for (const key in record) {
          path.push(key)
          assertJson(record[key], path)
          path.pop()
        }
        return
      }
      const name = describe(value)
      throw new CodecError(
        `Cannot encode an instance of ${name} at ${formatPath(path)}: register it with ` +
          `codec.registerClass(${name}) or codec.register({ name, isApplicable, serialize, deserialize }), ` +
          'or convert it to plain data before caching.',
      )
    }
    case 'undefined':
      throw new CodecError(`Cannot encode undefined returned by a custom transformer at ${formatPath(path)}.`)
    default:
      throw new CodecError(
        `Cannot encode a ${typeof value} (${describe(value)}) at ${formatPath(path)}: functions and symbols cannot ` +
          'be cached; return plain data instead.',
      )
  }
}

// --- Built-in custom types ---------------------------------------------------------------------------------------

type ByteKind =
  | 'Buffer'
  | 'ArrayBuffer'
  | 'DataView'
  | 'Int8Array'
  | 'Uint8Array'
  | 'Uint8ClampedArray'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'BigInt64Array'
  | 'BigUint64Array'

const TYPED_ARRAYS: Readonly<Record<string, new (buffer: ArrayBuffer, offset: number, length: number) => unknown>> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const objectToString = Object.prototype.toString

function byteKind(value: object): ByteKind | undefined {
  if (ArrayBuffer.isView(value)) {
    if (Buffer.isBuffer(value)) return 'Buffer'
    // The tag works across realms (under jest, Node's Buffer and its ArrayBuffers come from the main realm).
    const tag = (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] ?? 'DataView'
    // A subclass would come back as its base class: leave it to registerClass (or the unsupported-value error).
    const ctorName = (value as { constructor?: { name?: unknown } }).constructor?.name
    return ctorName === tag && (tag === 'DataView' || (tag as string) in TYPED_ARRAYS) ? (tag as ByteKind) : undefined
  }
  return objectToString.call(value) === '[object ArrayBuffer]' &&
    (value as { constructor?: { name?: unknown } }).constructor?.name === 'ArrayBuffer'
    ? 'ArrayBuffer'
    : undefined
}

const bytesTransformer: CodecTransformer<object, [ByteKind, string]> = {
  name: 'memokit:bytes',
  isApplicable: (value): value is object => isObject(value) && byteKind(value) !== undefined,
  serialize(value) {
    const kind = byteKind(value) as ByteKind
    const bytes =
      kind === 'ArrayBuffer'
        ? Buffer.from(value as ArrayBuffer)
        : Buffer.from(
            (value as ArrayBufferView).buffer,
            (value as ArrayBufferView).byteOffset,
            (value as ArrayBufferView).byteLength,
          )
    return [kind, bytes.toString('base64')]
  },
  deserialize(data) {
    if (!Array.isArray(data) || data.length !== 2 || typeof data[1] !== 'string') throw new Error('bad bytes data')
    const [kind, base64] = data
    if (base64.length % 4 !== 0 || !BASE64.test(base64)) throw new Error('bad base64')
    const decoded = Buffer.from(base64, 'base64')
    if (kind === 'Buffer') return decoded
    // Copy into a buffer of its own: `decoded` may be a slice of Node's shared pool.
    const buffer = new ArrayBuffer(decoded.length)
    new Uint8Array(buffer).set(decoded)
    if (kind === 'ArrayBuffer') return buffer
    if (kind === 'DataView') return new DataView(buffer)
    const Ctor = TYPED_ARRAYS[kind]
    if (Ctor === undefined) throw new Error(`unknown byte kind ${String(kind)}`)
    const size = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT
    if (buffer.byteLength % size !== 0) throw new Error(`${kind} byte length is not a multiple of ${size}`)
    return new Ctor(buffer, 0, buffer.byteLength / size) as object
  },
}

function hasHole(array: readonly unknown[]): boolean {
  for (let i = 0; i < array.length; i++) if (!(i in array)) return true
  return false
}

// JSON and superjson turn holes into null or drop trailing ones, changing the array: store length + entries.
const sparseArrayTransformer: CodecTransformer<unknown[], { n: number; e: [number, unknown][] }> = {
  name: 'memokit:sparse-array',
  isApplicable: (value): value is unknown[] => Array.isArray(value) && hasHole(value),
  serialize(array) {
    const e: [number, unknown][] = []
    array.forEach((item, index) => {
      e.push([index, item])
    })
    return { n: array.length, e }
  },
  deserialize(data) {
    if (!isObject(data) || !Number.isInteger(data.n) || data.n < 0 || data.n > 2 ** 32 - 1 || !Array.isArray(data.e)) {
      throw new Error('bad sparse array data')
    }
    const array = new Array<unknown>(data.n)
    for (const pair of data.e) {
      if (!Array.isArray(pair) || !Number.isInteger(pair[0]) || pair[0] < 0 || pair[0] >= data.n) {
        throw new Error('bad sparse array entry')
      }
      array[pair[0]] = pair[1]
    }
    return array
  },
}

// superjson refuses these keys (prototype-pollution guard); store such objects as an entry list instead.
const unsafeKeysTransformer: CodecTransformer<object, [string, unknown][]> = {
  name: 'memokit:object',
  isApplicable: (value): value is object =>
    isObject(value) &&
    isPlainObjectLike(value) &&
    (Object.hasOwn(value, '__proto__') || Object.hasOwn(value, 'constructor') || Object.hasOwn(value, 'prototype')),
  serialize: (value) => Object.entries(value),
  deserialize(data) {
    if (!Array.isArray(data)) throw new Error('bad object data')
    for (const pair of data) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') throw new Error('bad object entry')
    }
    // fromEntries defines own properties, so a `__proto__` key never touches the prototype.
    return Object.fromEntries(data)
  },
}

const invalidDateTransformer: CodecTransformer<Date, 0> = {
  name: 'memokit:invalid-date',
  isApplicable: (value): value is Date => value instanceof Date && Number.isNaN(value.getTime()),
  serialize: () => 0,
  deserialize: () => new Date(Number.NaN),
}

interface ErrorData {
  /** The built-in class (`TypeError`...), for errors stored by the built-in transformer. */
  type?: string
  name: string
  message: string
  stack?: string
  cause?: unknown
  errors?: unknown[]
  props?: Record<string, unknown>
}

const BUILTIN_ERRORS: Readonly<Record<string, ErrorConstructor | AggregateErrorConstructor>> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
  AggregateError,
}
const BUILTIN_ERROR_TYPES = new Map<unknown, string>(
  Object.entries(BUILTIN_ERRORS).map(([type, ctor]) => [ctor.prototype, type]),
)

function serializeError(error: Error): ErrorData {
  const data: ErrorData = { name: error.name, message: error.message }
  if (typeof error.stack === 'string') data.stack = error.stack
  if ('cause' in error) data.cause = error.cause
  if (error instanceof AggregateError) data.errors = [...error.errors]
  // Own enumerable properties such as Node's `code`, `errno`, `syscall`.
  let props: Record<string, unknown> | undefined
  for (const key of Object.keys(error)) {
    if (key === 'cause' || key === 'stack' || key === 'message') continue
    props ??= {}
    props[key] = (error as unknown as Record<string, unknown>)[key]
  }
  if (props !== undefined) data.props = props
  return data
}

function checkErrorData(data: unknown): asserts data is ErrorData {
  if (!isObject(data)) throw new Error('bad error data')
  const d = data as Partial<ErrorData>
  if (typeof d.name !== 'string' || typeof d.message !== 'string') throw new Error('bad error data')
  if (d.stack !== undefined && typeof d.stack !== 'string') throw new Error('bad error stack')
  if (d.errors !== undefined && !Array.isArray(d.errors)) throw new Error('bad aggregate errors')
  if (d.props !== undefined && !isObject(d.props)) throw new Error('bad error props')
}

function defineHidden(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: false, configurable: true })
}

function restoreErrorFields(error: Error, data: ErrorData): Error {
  if (data.stack === undefined) delete error.stack
  else defineHidden(error, 'stack', data.stack)
  if ('cause' in data) defineHidden(error, 'cause', data.cause)
  if (data.props !== undefined) {
    for (const [key, value] of Object.entries(data.props)) {
      // defineProperty, not assignment: a `__proto__` key must stay a plain property.
      Object.defineProperty(error, key, { value, writable: true, enumerable: true, configurable: true })
    }
  }
  return error
}

const errorTransformer = (classErrors: ReadonlySet<unknown>): CodecTransformer<Error, ErrorData> => ({
  name: 'memokit:error',
  isApplicable: (value): value is Error => value instanceof Error && !classErrors.has(value.constructor),
  serialize(error) {
    const type = BUILTIN_ERROR_TYPES.get(Object.getPrototypeOf(error))
    if (type === undefined) {
      // superjson would store it as a plain Error and `instanceof` would silently fail after a hit.
      const name = describe(error)
      throw new CodecError(
        `Cannot encode an instance of ${name}: register it with codec.registerClass(${name}), or cache plain data.`,
      )
    }
    return { type, ...serializeError(error) }
  },
  deserialize(data) {
    checkErrorData(data)
    const Ctor = BUILTIN_ERRORS[data.type ?? '']
    if (Ctor === undefined) throw new Error(`unknown error type ${String(data.type)}`)
    const error =
      Ctor === AggregateError
        ? new AggregateError(data.errors ?? [], data.message)
        : new (Ctor as ErrorConstructor)(data.message)
    if (error.name !== data.name) defineHidden(error, 'name', data.name)
    return restoreErrorFields(error, data)
  },
})

// Registering these would replace (and break) their built-in handling.
const BUILTIN_CLASSES = new Set<unknown>([
  Object,
  Array,
  Date,
  RegExp,
  Map,
  Set,
  URL,
  Buffer,
  ArrayBuffer,
  DataView,
  ...Object.values(TYPED_ARRAYS),
  ...Object.values(BUILTIN_ERRORS),
])

/** Any transformer, whatever its types: what superjson's registry takes. */
interface AnyTransformer {
  readonly name: string
  readonly isApplicable: (value: unknown) => boolean
  readonly serialize: (value: never) => unknown
  readonly deserialize: (data: never) => unknown
}

// --- Codec -------------------------------------------------------------------------------------------------------

function corrupt(why: string, cause?: unknown): CodecError {
  return new CodecError(`Corrupt codec payload: ${why}.`, cause === undefined ? undefined : { cause })
}

function checkPayload(payload: unknown): asserts payload is string {
  if (typeof payload !== 'string') throw corrupt(`expected a string, got ${describe(payload)}`)
  if (payload.length === 0) throw corrupt('empty string')
}

function unknownTag(payload: string, at: number): CodecError {
  return new CodecError(
    `Unknown codec payload format ${JSON.stringify(payload.charAt(at))}: written by a newer memokit, or not by this ` +
      'codec at all.',
  )
}

/** Parses a header time written by `String(number)`; anything not in that exact form is corrupt. */
function parseTime(payload: string, from: number, to: number, field: string): number {
  // Common case without allocating: an integer of up to 15 digits (every ms timestamp), no leading zero.
  let i = from
  const negative = payload.charCodeAt(i) === 45 // '-'
  if (negative) i++
  if (i < to && to - i <= 15 && (payload.charCodeAt(i) !== 48 || to - i === 1)) {
    let time = 0
    for (; i < to; i++) {
      const digit = payload.charCodeAt(i) - 48
      if (digit < 0 || digit > 9) break
      time = time * 10 + digit
    }
    if (i === to && !(negative && time === 0)) return negative ? -time : time
  }
  // Fractions and exponents: accept exactly what String(number) writes.
  const text = payload.slice(from, to)
  const time = Number(text)
  if (text === '' || !Number.isFinite(time) || String(time) !== text) {
    throw corrupt(`${field} ${JSON.stringify(text.slice(0, 40))} is not a number`)
  }
  return time
}

function checkTime(time: unknown, field: string): asserts time is number {
  if (typeof time !== 'number' || !Number.isFinite(time)) {
    throw new CodecError(
      `Cannot encode entry: ${field} must be a finite number of ms since the epoch, got ${String(time)}.`,
    )
  }
}

/** Creates a codec with its own registry of custom types (nothing global is changed). */
export function createCodec(): Codec {
  const sj = new SuperJSON({ dedupe: true })
  const customNames = new Set<string>()
  const classNames = new Set<string>()
  const errorClasses = new Set<unknown>()

  // Custom values being encoded right now: one met again inside its own encoding is a cycle.
  const encoding = new Set<unknown>()
  // Each custom value is encoded by a pass of its own, so the outer pass sees plain JSON in its place. superjson
  // restores shared and circular references by path after it has rebuilt custom values, and paths into a custom
  // value no longer exist then: a reference through one came back as null (a wrong value) or failed to decode.
  // Inside a custom value, references are kept; across its boundary, a shared value is stored as copies.
  // `jsonOnly`: the transformer is the user's, documented to return plain JSON data; ours may return any value.
  const addCustom = (t: AnyTransformer, jsonOnly = false): void => {
    sj.registerCustom(
      {
        isApplicable: t.isApplicable as never,
        serialize: ((value: unknown) => {
          if (encoding.has(value)) {
            throw new CodecError(`Cannot encode a value that contains itself through a ${t.name} value (a cycle).`)
          }
          encoding.add(value)
          try {
            const data = (t.serialize as (v: unknown) => unknown)(value)
            if (jsonOnly) assertJson(data, [])
            return sj.serialize(data as never)
          } finally {
            encoding.delete(value)
          }
        }) as never,
        deserialize: ((data: unknown) => {
          if (!isObject(data) || Array.isArray(data)) throw new Error(`bad ${t.name} data`)
          return (t.deserialize as (d: unknown) => unknown)(sj.deserialize(data as never))
        }) as never,
      },
      t.name,
    )
    customNames.add(t.name)
  }
  // Order matters: superjson uses the first applicable one.
  for (const t of [
    bytesTransformer,
    sparseArrayTransformer,
    errorTransformer(errorClasses),
    invalidDateTransformer,
    unsafeKeysTransformer,
  ]) {
    addCustom(t)
  }

  const encodeValue = (value: unknown): string => {
    try {
      if (isPlainJson(value, 0)) return `j${JSON.stringify(value)};`
      const result = sj.serialize(value as never)
      assertJson(result.json, [])
      return `s${JSON.stringify(result)};`
    } catch (error) {
      if (error instanceof CodecError) throw error
      // A throwing getter or custom transformer, for instance.
      throw new CodecError(`Cannot encode value: ${(error as Error)?.message ?? String(error)}`, { cause: error })
    }
  }

  const decodeSuperjson = (text: string): unknown => {
    let envelope: unknown
    try {
      envelope = JSON.parse(text)
    } catch (error) {
      throw corrupt('not JSON', error)
    }
    if (!isObject(envelope) || Array.isArray(envelope)) throw corrupt('not a superjson envelope')
    for (const key in envelope) if (key !== 'json' && key !== 'meta') throw corrupt('not a superjson envelope')
    const meta = (envelope as { meta?: unknown }).meta
    if (meta !== undefined && (!isObject(meta) || Array.isArray(meta) || (meta as { v?: unknown }).v !== 1)) {
      throw corrupt('unknown superjson metadata version')
    }
    try {
      return sj.deserialize(envelope as never, { inPlace: true })
    } catch (error) {
      throw corrupt(`cannot rebuild the value (${(error as Error).message})`, error)
    }
  }

  /** Decodes the value payload that starts at `start` and runs to the end of `payload`. */
  const decodeValue = (payload: string, start: number): unknown => {
    const end = payload.length - 1
    const tag = payload.charCodeAt(start)
    if (tag !== TAG_JSON && tag !== TAG_SUPERJSON) {
      if (start === payload.length) throw corrupt('truncated')
      if (start === 0 && tag === TAG_ENTRY) throw corrupt('an entry payload (read it with decodeEntry)')
      throw unknownTag(payload, start)
    }
    if (end <= start + 1 || payload.charCodeAt(end) !== END) throw corrupt('truncated')
    if (tag === TAG_JSON) {
      try {
        return JSON.parse(payload.slice(start + 1, end))
      } catch (error) {
        throw corrupt('not JSON', error)
      }
    }
    return decodeSuperjson(payload.slice(start + 1, end))
  }

  const codec: Codec = {
    encode: encodeValue,
    decode(payload) {
      checkPayload(payload)
      return decodeValue(payload, 0)
    },
    encodeEntry(entry) {
      if (!isObject(entry)) throw new CodecError(`Cannot encode entry: expected an object, got ${describe(entry)}.`)
      const { value, createdAt, expiresAt } = entry
      checkTime(createdAt, 'createdAt')
      if (expiresAt !== undefined) checkTime(expiresAt, 'expiresAt')
      return `e${createdAt},${expiresAt ?? ''},${encodeValue(value)}`
    },
    decodeEntry(payload) {
      checkPayload(payload)
      if (payload.charCodeAt(0) !== TAG_ENTRY) throw unknownTag(payload, 0)
      const first = payload.indexOf(',', 1)
      const second = first < 0 ? -1 : payload.indexOf(',', first + 1)
      if (second < 0) throw corrupt('truncated entry header')
      const createdAt = parseTime(payload, 1, first, 'createdAt')
      const expiresAt = second === first + 1 ? undefined : parseTime(payload, first + 1, second, 'expiresAt')
      return { value: decodeValue(payload, second + 1), createdAt, expiresAt }
    },
    register(transformer) {
      if (!isObject(transformer)) throw new ConfigError('transformer', 'codec.register() expects a transformer object.')
      const { name, isApplicable, serialize, deserialize } = transformer
      if (typeof name !== 'string' || name === '') {
        throw new ConfigError('name', 'codec.register(): `name` must be a non-empty string.')
      }
      if (name.startsWith(RESERVED_PREFIX)) {
        throw new ConfigError('name', `codec.register(): names starting with "${RESERVED_PREFIX}" are reserved.`)
      }
      if (customNames.has(name)) {
        throw new ConfigError('name', `codec.register(): a type named "${name}" is already registered on this codec.`)
      }
      for (const [key, fn] of [
        ['isApplicable', isApplicable],
        ['serialize', serialize],
        ['deserialize', deserialize],
      ] as const) {
        if (typeof fn !== 'function') {
          throw new ConfigError(key, `codec.register(): \`${key}\` of "${name}" must be a function.`)
        }
      }
      addCustom({ name, isApplicable, serialize, deserialize }, true)
      return codec
    },
    registerClass(cls, options) {
      if (typeof cls !== 'function' || !isObject(cls.prototype)) {
        throw new ConfigError('class', 'codec.registerClass() expects a class.')
      }
      const name = options?.name ?? cls.name
      if (typeof name !== 'string' || name === '') {
        throw new ConfigError('name', 'codec.registerClass(): the class has no name; pass { name }.')
      }
      if (classNames.has(name)) {
        throw new ConfigError(
          'name',
          `codec.registerClass(): a class named "${name}" is already registered on this codec; pass a unique { name }.`,
        )
      }
      if (errorClasses.has(cls) || sj.classRegistry.getIdentifier(cls) !== undefined) {
        throw new ConfigError(
          'class',
          `codec.registerClass(): ${cls.name || name} is already registered on this codec.`,
        )
      }
      if (BUILTIN_CLASSES.has(cls)) {
        throw new ConfigError('class', `codec.registerClass(): ${cls.name} is supported without registering it.`)
      }
      if (cls.prototype instanceof Error) {
        // superjson's class rule keeps own enumerable properties only, losing `message` and `stack`.
        const customName = `${RESERVED_PREFIX}error-class:${name}`
        errorClasses.add(cls)
        addCustom({
          name: customName,
          isApplicable: (value: unknown): value is Error => isObject(value) && value.constructor === cls,
          serialize: serializeError,
          deserialize(data: unknown) {
            checkErrorData(data)
            const error = Object.create(cls.prototype) as Error
            defineHidden(error, 'message', data.message)
            if (data.errors !== undefined) defineHidden(error, 'errors', data.errors)
            return restoreErrorFields(error, data)
          },
        })
      } else {
        sj.registerClass(cls as never, { identifier: name })
      }
      classNames.add(name)
      return codec
    },
  }
  return codec
}

/**
 * For storage backends: the `codec` option, validated. `undefined` gives a new {@link createCodec}() codec;
 * anything that lacks a Codec's `encode`, `decode`, `encodeEntry` or `decodeEntry` is a ConfigError naming
 * `owner` (the backend's factory, e.g. `'redisStorage'`).
 */
export function resolveCodec(codec: unknown, owner: string): Codec {
  if (codec === undefined) return createCodec()
  const c = codec as Partial<Codec> | null
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.encode !== 'function' ||
    typeof c.decode !== 'function' ||
    typeof c.encodeEntry !== 'function' ||
    typeof c.decodeEntry !== 'function'
  ) {
    throw new ConfigError(
      'codec',
      `${owner}: codec must be a Codec from createCodec() (it needs encode, decode, encodeEntry and decodeEntry), got ${c === null ? 'null' : typeof c}`,
    )
  }
  return c as Codec
}
