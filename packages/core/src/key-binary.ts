/*
 * How the key encoder recognises built-in objects, and how it encodes the binary ones (Buffer, typed arrays,
 * ArrayBuffer, SharedArrayBuffer, DataView): leaves that contain no other values.
 */
import { types } from 'node:util'
import { numberText } from './key-text'

const getProto = Object.getPrototypeOf

/**
 * A built-in object must have the built-in prototype itself (not a subclass, whose methods may mean something
 * else). `protoDepth` is the prototype chain length of a genuine instance, which also recognises instances from
 * another realm (vm contexts, jest) whose prototypes are different objects with the same shape.
 */
export function isBuiltin(proto: object, own: object, name: string, protoDepth: number): boolean {
  if (proto === own) return true
  const ctor = (proto as { constructor?: unknown }).constructor
  if (typeof ctor !== 'function' || ctor.name !== name) return false
  let p: object | null = proto
  for (let d = 0; d < protoDepth; d++) p = p === null ? null : (getProto(p) as object | null)
  return p === null
}

/**
 * A Date's prototype: the built-in one (of any realm), or that of the Date class a fake clock installs
 * (@sinonjs/fake-timers, behind jest's fake timers: `class ClockDate extends Date`, marked `isFake`), whose
 * instances are plain Dates to everyone else. Accepted on either side of `useFakeTimers()`/`useRealTimers()`, so a
 * Date made before a test fakes the clock, or during it, keys and encodes as any Date does.
 */
export function isDatePrototype(proto: object): boolean {
  if (isBuiltin(proto, Date.prototype, 'Date', 2)) return true
  const ctor = (proto as { constructor?: unknown }).constructor
  const parent = getProto(proto) as object | null
  return (
    typeof ctor === 'function' &&
    (ctor as { isFake?: unknown }).isFake === true &&
    parent !== null &&
    isBuiltin(parent, Date.prototype, 'Date', 2)
  )
}

const TypedArrayProto = getProto(Uint8Array.prototype) as object
const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArrayProto, Symbol.toStringTag)?.get as (
  this: unknown,
) => string | undefined
const BYTE_ARRAYS = new Set(['Uint8Array', 'Int8Array', 'Uint8ClampedArray'])

/**
 * Float arrays, with how to read an element's bits and the bits `NaN` is stored as. A NaN with other bits (another
 * sign or payload, as `0 / 0` computed at run time on x64 gives) is written with its bits, because a function
 * reading the array's bytes would see the difference.
 */
const FLOATS: Record<string, { readonly bits: 'BigUint64Array' | 'Uint32Array' | 'Uint16Array'; quiet: bigint }> = {
  Float64Array: { bits: 'BigUint64Array', quiet: 0x7ff8_0000_0000_0000n },
  Float32Array: { bits: 'Uint32Array', quiet: 0x7fc0_0000n },
  Float16Array: { bits: 'Uint16Array', quiet: 0x7e00n },
}

function bytes(buffer: ArrayBufferLike, offset: number, length: number): string {
  return Buffer.from(buffer, offset, length).toString('base64')
}

/** A NaN element's text: `NaN` for the bits `NaN` is stored as, else `NaN:` and its bits in hex. */
function nanText(o: ArrayBufferView, tag: string, index: number): string {
  const float = FLOATS[tag]
  if (float === undefined) return 'NaN'
  const View = globalThis[float.bits] as unknown as new (
    buffer: ArrayBufferLike,
    offset: number,
    length: number,
  ) => ArrayLike<number | bigint>
  const width = (o as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT
  // Read in the machine's own byte order, the order the float was stored in, so the bits are the same everywhere.
  const bits = BigInt(new View(o.buffer, o.byteOffset + index * width, 1)[0] as number | bigint)
  return bits === float.quiet ? 'NaN' : `NaN:${bits.toString(16).padStart(width * 2, '0')}`
}

/** The encoding of a binary built-in, or undefined when `o` is not one. */
export function encodeBinary(o: object, proto: object): string | undefined {
  if (Buffer.isBuffer(o)) return `Buffer(${bytes(o.buffer, o.byteOffset, o.byteLength)})`
  if (types.isTypedArray(o)) {
    const tag = typedArrayTag.call(o) as string
    const own = (globalThis as unknown as Record<string, { prototype: object } | undefined>)[tag]?.prototype
    if (!isBuiltin(proto, own ?? proto, tag, 3)) return undefined
    if (BYTE_ARRAYS.has(tag)) return `${tag}(${bytes(o.buffer, o.byteOffset, o.byteLength)})`
    // Multi-byte elements by value, not bytes: bytes would depend on the machine's endianness.
    let s = `${tag}[`
    const elements = o as unknown as ArrayLike<number | bigint>
    for (let i = 0; i < elements.length; i++) {
      const x = elements[i] as number | bigint
      const text = typeof x === 'bigint' ? `${x}n` : Number.isNaN(x) ? nanText(o, tag, i) : numberText(x)
      s += i === 0 ? text : `,${text}`
    }
    return `${s}]`
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
  return undefined
}
