/*
 * The codec's built-in custom types: what superjson does not store faithfully on its own (bytes, sparse arrays,
 * invalid Dates, objects with keys superjson refuses). Errors are in codec-errors.ts.
 */
import type { CodecTransformer } from './codec'
import { BUILTIN_ERRORS } from './codec-errors'
import { isObject, isPlainObjectLike } from './codec-json'
import { isBuiltin, isDatePrototype } from './key-binary'

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

export const TYPED_ARRAYS: Readonly<
  Record<string, new (buffer: ArrayBuffer, offset: number, length: number) => unknown>
> = {
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

export const bytesTransformer: CodecTransformer<object, [ByteKind, string]> = {
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
  // Stops at the first hole: one read for a sparse array, whatever its length.
  for (let i = 0; i < array.length; i++) if (!(i in array)) return true
  return false
}

const MAX_INDEX = 2 ** 32 - 2

// Dense arrays that must be stored by their indices too (see `storeByIndices`). Membership only ever means "store
// the elements as an entry list", which is right for any Array, so nothing is removed (a WeakSet forgets them).
const byIndices = new WeakSet<object>()

/**
 * Whether an Array holds more than its elements in a way JSON or superjson would store wrongly: a `toJSON` (own or
 * inherited: JSON.stringify would store its result instead of the elements), or other own enumerable properties
 * (superjson copies them and annotates their values by path; JSON drops the properties, and decoding applied the
 * annotations to the array anyway, adding a property `NaN` or, for a name like `01`, replacing an element). Such an
 * array is then stored as the sparse form is, by its indices only. Called by the reference walk (codec-refs.ts),
 * which runs before any value reaches superjson.
 */
export function storeByIndices(array: readonly unknown[]): boolean {
  if (!('toJSON' in array) && Object.keys(array).length === array.length) return false
  byIndices.add(array)
  return true
}

/**
 * JSON and superjson turn holes into null or drop trailing ones, changing the array: store length + entries.
 * Both directions take time proportional to the elements, never to `length` (which may be 2**32 - 1). Also used for
 * dense arrays with extra properties (`storeByIndices`): the same data, which decodes to the elements alone.
 */
export const sparseArrayTransformer: CodecTransformer<unknown[], { n: number; e: [number, unknown][] }> = {
  name: 'memokit:sparse-array',
  // Only Arrays (from any realm): a subclass would come back as an Array, so the reference walk refuses it.
  isApplicable: (value): value is unknown[] =>
    Array.isArray(value) &&
    isBuiltin(Object.getPrototypeOf(value), Array.prototype, 'Array', 2) &&
    (byIndices.has(value) || hasHole(value)),
  serialize(array) {
    const e: [number, unknown][] = []
    // Own keys: the indices, and any other property, which is not stored (as with dense arrays).
    for (const key of Object.keys(array)) {
      const index = Number(key)
      if (index <= MAX_INDEX && String(index) === key) e.push([index, array[index]])
    }
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
export const unsafeKeysTransformer: CodecTransformer<object, [string, unknown][]> = {
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

export const invalidDateTransformer: CodecTransformer<Date, 0> = {
  name: 'memokit:invalid-date',
  // Not a subclass, which would come back as a Date: the reference walk refuses it.
  isApplicable: (value): value is Date =>
    value instanceof Date && isDatePrototype(Object.getPrototypeOf(value)) && Number.isNaN(value.getTime()),
  serialize: () => 0,
  deserialize: () => new Date(Number.NaN),
}

export const BUILTIN_CLASSES = new Set<unknown>([
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

// Built-ins that keep their contents in internal slots rather than in properties.
const SLOT_BUILTINS: readonly (abstract new (...args: never[]) => unknown)[] = [
  Array,
  Date,
  RegExp,
  Map,
  Set,
  URL,
  ArrayBuffer,
  SharedArrayBuffer,
  DataView,
  ...Object.values(TYPED_ARRAYS),
  Promise,
  WeakMap,
  WeakSet,
]

/**
 * The built-in `cls` extends whose contents are not properties (a Map's entries, a Date's time, an array's length),
 * which registerClass would not store; undefined for any other class.
 */
export function slotBuiltinBase(cls: { readonly prototype: unknown }): { readonly name: string } | undefined {
  return SLOT_BUILTINS.find((b) => cls.prototype instanceof b)
}

/** Any transformer, whatever its types: what superjson's registry takes. */
export interface AnyTransformer {
  readonly name: string
  readonly isApplicable: (value: unknown) => boolean
  readonly serialize: (value: never) => unknown
  readonly deserialize: (data: never) => unknown
}
