import { describe, expect, it } from '@jest/globals'
import { CodecError, ConfigError, createCodec, resolveCodec } from '@memokit/core'
import fc from 'fast-check'

const isPlain = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype

// Jest's equality treats two invalid Dates as different, ignores an Error's `cause` and class, and sees every URL
// as equal (no own properties). A round trip must preserve all of these, so compare them properly.
expect.addEqualityTesters([
  function (a: unknown, b: unknown, customTesters) {
    if (a instanceof Date && b instanceof Date) return Object.is(a.getTime(), b.getTime())
    if (a instanceof URL && b instanceof URL) return a.href === b.href
    if (a instanceof Error && b instanceof Error) {
      return (
        Object.getPrototypeOf(a) === Object.getPrototypeOf(b) &&
        a.name === b.name &&
        a.message === b.message &&
        'cause' in a === 'cause' in b &&
        this.equals(a.cause, b.cause, customTesters, true) &&
        this.equals({ ...a }, { ...b }, customTesters, true)
      )
    }
    // toStrictEqual compares `a.constructor === b.constructor`, which an own `constructor` key breaks.
    if (isPlain(a) && isPlain(b) && (Object.hasOwn(a, 'constructor') || Object.hasOwn(b, 'constructor'))) {
      return (
        Object.getPrototypeOf(a) === Object.getPrototypeOf(b) &&
        this.equals(Object.entries(a), Object.entries(b), customTesters, true)
      )
    }
    return undefined
  },
])

const roundTrip = <T>(value: T, codec = createCodec()): T => codec.decode(codec.encode(value)) as T

const allBytes = (): number[] => Array.from({ length: 256 }, (_, i) => i)

function expectCodecError(run: () => unknown, message?: RegExp): CodecError {
  let thrown: unknown
  try {
    run()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(CodecError)
  if (message) expect((thrown as Error).message).toMatch(message)
  return thrown as CodecError
}

describe('codec round trips', () => {
  it.each([
    ['a Date', new Date('2024-02-29T12:34:56.789Z')],
    ['an invalid Date', new Date(Number.NaN)],
    ['a far-future Date', new Date(8.64e15)],
    [
      'a Map',
      new Map<unknown, unknown>([
        ['a', 1],
        [2, 'b'],
        [{ k: 1 }, [1]],
      ]),
    ],
    ['a Set', new Set([1, 'a', null])],
    ['a BigInt', 123456789012345678901234567890n],
    ['a negative BigInt', -5n],
    ['a RegExp with flags', /a+b\/c?/gimsuy],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['-0', -0],
    ['a URL', new URL('https://user:pw@example.com:8080/a/b?q=1&r=%20#frag')],
    ['a plain object', { a: 1, b: 'two', c: [true, null, { d: 1.5e-7 }] }],
    ['a string with lone surrogates', 'a\ud800b\udc00c'],
  ])('%s', (_label, value) => {
    const decoded = roundTrip(value)
    expect(decoded).toStrictEqual(value)
    expect(Object.getPrototypeOf(decoded)).toBe(Object.getPrototypeOf(value))
  })

  it('-0 stays -0 and 0 stays 0, at top level and nested', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true)
    expect(Object.is(roundTrip(0), 0)).toBe(true)
    const decoded = roundTrip({ a: [-0, 0] })
    expect(Object.is(decoded.a[0], -0)).toBe(true)
    expect(Object.is(decoded.a[1], 0)).toBe(true)
  })

  it('undefined at top level, in arrays and as a property that still exists', () => {
    const codec = createCodec()
    expect(codec.decode(codec.encode(undefined))).toBeUndefined()
    const array = roundTrip([undefined, 1, undefined])
    expect(array).toHaveLength(3)
    expect(0 in array && 2 in array).toBe(true)
    const object = roundTrip({ a: undefined, b: { c: undefined } })
    expect(Object.keys(object)).toEqual(['a', 'b'])
    expect(Object.keys(object.b)).toEqual(['c'])
  })

  it('sparse arrays keep their holes and length', () => {
    // biome-ignore lint/suspicious/noSparseArray: holes are the point of this test
    const sparse = [1, , 3, ,]
    const decoded = roundTrip(sparse)
    expect(decoded).toHaveLength(4)
    expect(1 in decoded).toBe(false)
    expect(3 in decoded).toBe(false)
    expect(decoded).toStrictEqual(sparse)
  })

  it('Error keeps its class, name, message, cause and own properties', () => {
    const cause = new RangeError('inner')
    const error = Object.assign(new TypeError('outer', { cause }), { code: 'E_THING', status: 503 })
    const decoded = roundTrip(error)
    expect(decoded).toBeInstanceOf(TypeError)
    expect(decoded.message).toBe('outer')
    expect(decoded.name).toBe('TypeError')
    expect(decoded.cause).toBeInstanceOf(RangeError)
    expect((decoded.cause as Error).message).toBe('inner')
    expect(decoded).toMatchObject({ code: 'E_THING', status: 503 })
    expect(decoded.stack).toBe(error.stack)

    const named = new Error('custom')
    named.name = 'NotFoundError'
    const decodedNamed = roundTrip(named)
    expect(decodedNamed.name).toBe('NotFoundError')
    expect(decodedNamed.message).toBe('custom')
    expect('cause' in decodedNamed).toBe(false)

    const renamed = new TypeError('t')
    renamed.name = 'RangeError'
    const decodedRenamed = roundTrip(renamed)
    expect(decodedRenamed).toBeInstanceOf(TypeError)
    expect(decodedRenamed.name).toBe('RangeError')

    const aggregate = roundTrip(new AggregateError([new Error('a'), new Error('b')], 'both'))
    expect(aggregate).toBeInstanceOf(AggregateError)
    expect(aggregate.errors.map((e: Error) => e.message)).toEqual(['a', 'b'])
  })

  it('Uint8Array with all 256 byte values comes back as a Uint8Array', () => {
    const bytes = new Uint8Array(allBytes())
    const decoded = roundTrip(bytes)
    expect(Buffer.isBuffer(decoded)).toBe(false)
    expect(decoded).toBeInstanceOf(Uint8Array)
    expect(Array.from(decoded)).toEqual(allBytes())
  })

  it('Buffer with all 256 byte values comes back as a Buffer', () => {
    const decoded = roundTrip(Buffer.from(allBytes()))
    expect(Buffer.isBuffer(decoded)).toBe(true)
    expect(Array.from(decoded)).toEqual(allBytes())
  })

  it('a view into a larger buffer stores only its own bytes', () => {
    const view = new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5)
    const decoded = roundTrip(view)
    expect(Array.from(decoded)).toEqual([1, 2, 3])
    expect(decoded.byteOffset).toBe(0)
    expect(decoded.buffer.byteLength).toBe(3)
  })

  it('every typed array, ArrayBuffer and DataView keep their type and exact contents (NaN bits included)', () => {
    const values = [
      new Int8Array([-128, 0, 127]),
      new Uint8ClampedArray([0, 255]),
      new Int16Array([-32768, 32767]),
      new Uint16Array([0, 65535]),
      new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
      new Uint32Array([0, 2 ** 32 - 1]),
      new Float32Array([Number.NaN, -0, 1.5, Number.POSITIVE_INFINITY]),
      new Float64Array([Number.NaN, -0, Math.PI, Number.NEGATIVE_INFINITY]),
      new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
      new BigUint64Array([0n, 2n ** 64n - 1n]),
    ]
    for (const value of values) {
      const decoded = roundTrip(value)
      expect(decoded).toStrictEqual(value)
      expect(Object.getPrototypeOf(decoded)).toBe(Object.getPrototypeOf(value))
    }
    const buffer = new Uint8Array([1, 2, 3]).buffer
    const decodedBuffer = roundTrip(buffer)
    expect(decodedBuffer).toBeInstanceOf(ArrayBuffer)
    expect(Array.from(new Uint8Array(decodedBuffer))).toEqual([1, 2, 3])
    const decodedView = roundTrip(new DataView(new Uint8Array([4, 5]).buffer))
    expect(decodedView).toBeInstanceOf(DataView)
    expect([decodedView.getUint8(0), decodedView.getUint8(1)]).toEqual([4, 5])
  })

  it('nested combinations: a Map of Sets of Dates inside an array inside an object', () => {
    const value = {
      list: [
        new Map<string | Date, Set<Date | bigint | undefined>>([
          ['a', new Set([new Date(0), new Date(Number.NaN)])],
          [new Date(1), new Set([5n, undefined])],
        ]),
        { bytes: Buffer.from([0, 255]), re: /x/g, url: new URL('http://a/'), nan: Number.NaN, no: undefined },
      ],
    }
    const decoded = roundTrip(value)
    expect(decoded).toStrictEqual(value)
    const map = decoded.list[0] as Map<unknown, Set<unknown>>
    expect([...(map.get('a') ?? [])][0]).toBeInstanceOf(Date)
  })

  it('Sets and Maps whose members collide once encoded stay distinct', () => {
    const set = new Set<unknown>([undefined, null, Number.NaN, 'NaN', 1n, '1', new Date(0), '1970-01-01T00:00:00.000Z'])
    expect(roundTrip(set)).toStrictEqual(set)
    const map = new Map<unknown, number>([
      [Number.NaN, 1],
      ['NaN', 2],
      [-0, 3],
      ['-0', 4],
    ])
    expect(roundTrip(map)).toStrictEqual(map)
  })

  it('shared references come back as equal copies, and a cycle is a CodecError (codec.references.test.ts)', () => {
    const shared = { d: new Date(5) }
    const decoded = roundTrip({ shared, again: shared })
    expect(decoded.again).toEqual(decoded.shared)
    expect(decoded.again).not.toBe(decoded.shared)
    expect((decoded.shared as { d: Date }).d).toEqual(new Date(5))
    // A plain-JSON cycle has nothing to annotate but must not overflow the stack.
    const plainCycle: Record<string, unknown> = { a: [1, 2] }
    plainCycle.me = plainCycle
    expectCodecError(() => createCodec().encode(plainCycle), /cycle.*value\["me"\]/)
  })

  it('shared values inside sparse arrays and errors round-trip (found by the property test)', () => {
    const big = -57896044618658097711785492504343953926634992332820282019728792003956564819909n
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const bigints = [big, big, ,]
    expect(roundTrip(bigints)).toStrictEqual(bigints)
    const shared = { a: 1 }
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const objects = roundTrip([shared, shared, ,]) as { a: number }[]
    expect(objects[1]).toEqual(objects[0])
    expect(objects).toHaveLength(3)
    expect(2 in objects).toBe(false)
    const error = Object.assign(new Error('x'), { data: { k: shared, j: shared } })
    const decodedError = roundTrip(error) as Error & { data: { k: unknown; j: unknown } }
    expect(decodedError).toBeInstanceOf(Error)
    expect(decodedError.data.k).toEqual({ a: 1 })
    expect(decodedError.data.j).toEqual({ a: 1 })
  })

  it('a cycle through a sparse array or an error is a CodecError when encoding, never a wrong value', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const array: unknown[] = [1, , 3]
    array[3] = array
    expectCodecError(() => createCodec().encode(array), /cycle/)
    const error = new Error('loop')
    error.cause = error
    expectCodecError(() => createCodec().encode(error), /cycle/)
  })

  it('deeply nested plain values round-trip', () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < 300; i++) deep = i % 2 ? { x: deep } : [deep]
    expect(roundTrip(deep)).toStrictEqual(deep)
  })
})

describe('user data that looks like codec metadata', () => {
  const lookalikes: [string, unknown][] = [
    ['superjson envelope', { json: 1, meta: { values: ['Date'] } }],
    ['superjson envelope with version', { json: '2020-01-01T00:00:00.000Z', meta: { values: ['Date'], v: 1 } }],
    ['superjson envelope next to a Date', { json: 1, meta: { values: { json: ['Date'] } }, at: new Date(0) }],
    ['tagged strings', ['1{"a":1}', 'j{};', 's{"json":1};', 'e1,,j1;', 'j', 's', 'e', ';', '']],
    ['a string payload of this codec', 's{"json":"1970-01-01T00:00:00.000Z","meta":{"values":["Date"],"v":1}};'],
    ['internal type data', { n: 3, e: [[0, 1]] }],
    ['byte data', ['Uint8Array', 'AQID']],
    ['error data', { name: 'TypeError', message: 'x', stack: 'y', cause: 1 }],
    ['custom annotation lookalike', { values: [['custom', 'memokit:bytes']], v: 1 }],
    ['dotted and escaped keys', { 'a.b': new Date(1), 'a\\.b': 2, '\\': new Set([1]), '': undefined }],
  ]
  it.each(lookalikes)('%s comes back unchanged', (_label, value) => {
    expect(roundTrip(value)).toStrictEqual(value)
  })

  it.each(['__proto__', 'constructor', 'prototype'])('a %s key stays an own property, on both paths', (key) => {
    for (const extra of [{}, { at: new Date(0) }]) {
      const value = JSON.parse(`{"${key}": {"polluted": true}, "b": 1}`) as Record<string, unknown>
      Object.assign(value, extra)
      const decoded = roundTrip(value)
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
      expect(Object.getOwnPropertyNames(decoded)).toContain(key)
      expect(Object.getOwnPropertyDescriptor(decoded, key)?.value).toEqual({ polluted: true })
      expect(decoded).toStrictEqual(value)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    }
  })
})

describe('fast path', () => {
  it.each([
    ['null', null],
    ['a string', 'x'],
    ['a number', 42.5],
    ['an object', { a: [1, 'b', { c: null, d: false }] }],
  ])('%s is stored as tagged JSON', (_label, value) => {
    const payload = createCodec().encode(value)
    expect(payload.startsWith('j')).toBe(true)
    expect(payload.endsWith(';')).toBe(true)
    expect(JSON.parse(payload.slice(1, -1))).toStrictEqual(value)
  })

  it.each([
    ['undefined deep inside', { a: [{ b: undefined }] }],
    ['-0 deep inside', { a: [{ b: -0 }] }],
    ['NaN deep inside', [[Number.NaN]]],
    ['a Date deep inside', { a: { b: [new Date(0)] } }],
    // biome-ignore lint/suspicious/noSparseArray: a hole is the point
    ['a hole', [1, , 2]],
  ])('a value with %s is not', (_label, value) => {
    const payload = createCodec().encode(value)
    expect(payload.startsWith('j')).toBe(false)
    expect(roundTrip(value)).toStrictEqual(value)
  })
})

describe('values that cannot be encoded', () => {
  class Unregistered {
    x = 1
  }
  it.each([
    ['a class instance', new Unregistered(), /Unregistered.*registerClass/s],
    ['a class instance deep inside', { a: [new Map([['k', new Unregistered()]])] }, /Unregistered.*registerClass/s],
    ['a Promise', { p: Promise.resolve(1) }, /Promise/],
    ['a WeakMap', new WeakMap(), /WeakMap/],
    ['an anonymous class instance', new (class {})(), /anonymous/],
    ['a function', () => 1, /function/],
    ['a function property', { f() {} }, /function/],
    ['a symbol', Symbol('s'), /symbol/],
    ['a symbol in an array', [Symbol('s')], /symbol/],
    ['a boxed string', { s: new String('x') }, /String/],
    ['an unregistered Error subclass', { e: new (class HttpError extends Error {})('x') }, /HttpError.*registerClass/],
  ])('%s throws a CodecError instead of storing something else', (_label, value, message) => {
    expectCodecError(() => createCodec().encode(value), message)
    expectCodecError(() => createCodec().encodeEntry({ value, createdAt: 1, expiresAt: undefined }), message)
  })

  it('the error names where the value sits', () => {
    expectCodecError(() => createCodec().encode({ user: { tags: [1, new Unregistered()] } }), /"user".*"tags".*\[1\]/)
  })

  it('a getter that throws becomes a CodecError with the cause', () => {
    const boom = new Error('boom')
    const value = {
      get x(): number {
        throw boom
      },
    }
    expect(expectCodecError(() => createCodec().encode(value)).cause).toBe(boom)
  })
})

describe('per-codec registry', () => {
  class Point {
    constructor(
      public x: number,
      public y: number,
      public seen: Date = new Date(0),
    ) {}
    norm(): number {
      return Math.hypot(this.x, this.y)
    }
  }

  it('registerClass restores the prototype and nested special values', () => {
    const codec = createCodec().registerClass(Point)
    const decoded = roundTrip({ list: [new Point(3, 4, new Date(7))] }, codec)
    const point = decoded.list[0] as Point
    expect(point).toBeInstanceOf(Point)
    expect(point.norm()).toBe(5)
    expect(point.seen).toEqual(new Date(7))
  })

  it('a class registered on one codec is unknown to another', () => {
    const a = createCodec().registerClass(Point)
    const b = createCodec()
    const payload = a.encode(new Point(1, 2))
    expectCodecError(() => b.encode(new Point(1, 2)), /Point/)
    expectCodecError(() => b.decode(payload))
    expect(a.decode(payload)).toBeInstanceOf(Point)
  })

  it('a custom type registered on one codec is unknown to another', () => {
    class Money {
      constructor(readonly cents: bigint) {}
    }
    const a = createCodec().register<Money, string>({
      name: 'Money',
      isApplicable: (v): v is Money => v instanceof Money,
      serialize: (m) => m.cents.toString(),
      deserialize: (s) => new Money(BigInt(s)),
    })
    const decoded = roundTrip(new Map([['price', new Money(1999n)]]), a)
    expect(decoded.get('price')).toEqual(new Money(1999n))
    expect(decoded.get('price')).toBeInstanceOf(Money)
    const b = createCodec()
    expectCodecError(() => b.encode(new Money(1n)), /Money/)
    expectCodecError(() => b.decode(a.encode(new Money(1n))))
  })

  it('registerClass with a name stores that name (so the same class can be renamed in code)', () => {
    class V1 {
      a = 1
    }
    class V2 {
      a = 1
    }
    const payload = createCodec().registerClass(V1, { name: 'Thing' }).encode(new V1())
    expect(createCodec().registerClass(V2, { name: 'Thing' }).decode(payload)).toBeInstanceOf(V2)
  })

  it('a registered Error subclass keeps its class, message, stack, cause and fields', () => {
    class HttpError extends Error {
      override name = 'HttpError'
      constructor(
        message: string,
        readonly status: number,
        options?: { cause?: unknown },
      ) {
        super(message, options)
      }
    }
    const codec = createCodec().registerClass(HttpError)
    const error = new HttpError('not found', 404, { cause: new Date(3) })
    const decoded = roundTrip(error, codec)
    expect(decoded).toBeInstanceOf(HttpError)
    expect(decoded.message).toBe('not found')
    expect(decoded.status).toBe(404)
    expect(decoded.name).toBe('HttpError')
    expect(decoded.cause).toEqual(new Date(3))
    expect(decoded.stack).toBe(error.stack)
  })

  it('rejects registrations that would make payloads ambiguous', () => {
    class A {}
    const codec = createCodec().registerClass(A)
    expect(() => codec.registerClass(A)).toThrow(ConfigError)
    expect(() => codec.registerClass(class A {})).toThrow(ConfigError)
    expect(() => codec.registerClass(class {})).toThrow(ConfigError)
    for (const builtin of [Object, Array, Date, Map, Error, TypeError, Uint8Array, Buffer]) {
      expect(() => codec.registerClass(builtin as never)).toThrow(ConfigError)
    }
    const transformer = {
      name: 'T',
      isApplicable: (v: unknown): v is never => false,
      serialize: () => 1,
      deserialize: () => 1 as never,
    }
    codec.register(transformer)
    expect(() => codec.register(transformer)).toThrow(ConfigError)
    expect(() => codec.register({ ...transformer, name: 'memokit:bytes' })).toThrow(ConfigError)
    expect(() => codec.register({ ...transformer, name: '' })).toThrow(ConfigError)
    expect(() => codec.register({ ...transformer, name: 'U', serialize: 1 as never })).toThrow(ConfigError)
  })

  it('a custom transformer that returns non-JSON data makes encode throw', () => {
    class Box {}
    const codec = createCodec().register<Box, unknown>({
      name: 'Box',
      isApplicable: (v): v is Box => v instanceof Box,
      serialize: () => ({ when: new Date(0), nothing: undefined }),
      deserialize: () => new Box(),
    })
    expectCodecError(() => codec.encode(new Box()), /Date|undefined/)
  })
})

describe('corrupt payloads', () => {
  const codec = createCodec()
  it.each([
    ['empty string', ''],
    ['an unknown tag', 'z{};'],
    ['a future version digit', '2{"a":1};'],
    ['raw JSON without tag', '{"a":1}'],
    ['the tag alone', 'j'],
    ['tag and terminator only', 'j;'],
    ['not JSON', 'j{a:1};'],
    ['a missing terminator', 'j{"a":1}'],
    ['trailing garbage', 'j{"a":1}x;'],
    ['superjson: not JSON', 's{"json":;'],
    ['superjson: not an object', 's[1,2];'],
    ['superjson: null', 'snull;'],
    ['superjson: unexpected keys', 's{"json":1,"extra":2};'],
    ['superjson: unknown meta version', 's{"json":"1","meta":{"values":["bigint"],"v":2}};'],
    ['superjson: meta without version', 's{"json":"1","meta":{"values":["bigint"]}};'],
    ['superjson: unknown annotation', 's{"json":1,"meta":{"values":["Nope"],"v":1}};'],
    ['superjson: unknown custom type', 's{"json":1,"meta":{"values":[["custom","Nope"]],"v":1}};'],
    ['superjson: bad BigInt', 's{"json":"12x","meta":{"values":["bigint"],"v":1}};'],
    ['superjson: bad base64', 's{"json":["Uint8Array","A*=="],"meta":{"values":[["custom","memokit:bytes"]],"v":1}};'],
    ['superjson: bad byte kind', 's{"json":["Nope","AAAA"],"meta":{"values":[["custom","memokit:bytes"]],"v":1}};'],
    ['superjson: prototype path', 's{"json":{},"meta":{"values":{"__proto__.x":["undefined"]},"v":1}};'],
    ['an entry payload', 'e1,,j1;'],
  ])('decode rejects %s with a CodecError', (_label, payload) => {
    expectCodecError(() => codec.decode(payload))
  })

  it.each([
    ['empty string', ''],
    ['a value payload', 'j1;'],
    ['an unknown tag', 'E1,,j1;'],
    ['no header commas', 'e1'],
    ['one header comma', 'e1,j1;'],
    ['no value', 'e1,,'],
    ['empty createdAt', 'e,,j1;'],
    ['non-numeric createdAt', 'eabc,,j1;'],
    ['hex createdAt', 'e0x10,,j1;'],
    ['leading zero', 'e01,,j1;'],
    ['padded number', 'e 1,,j1;'],
    ['NaN createdAt', 'eNaN,,j1;'],
    ['infinite createdAt', 'eInfinity,,j1;'],
    ['overflowing createdAt', 'e1e400,,j1;'],
    ['-0 createdAt', 'e-0,,j1;'],
    ['non-numeric expiresAt', 'e1,soon,j1;'],
    ['unknown value tag', 'e1,,x1;'],
    ['corrupt value', 'e1,2,j{;'],
  ])('decodeEntry rejects %s with a CodecError', (_label, payload) => {
    expectCodecError(() => codec.decodeEntry(payload))
  })

  it('a non-string payload is a CodecError', () => {
    expectCodecError(() => codec.decode(Buffer.from('j1;') as unknown as string))
    expectCodecError(() => codec.decodeEntry(undefined as unknown as string))
  })

  it('JSON errors are kept as the cause', () => {
    expect(expectCodecError(() => codec.decode('j{oops};')).cause).toBeInstanceOf(SyntaxError)
    expect(expectCodecError(() => codec.decodeEntry('e1,,s{oops};')).cause).toBeInstanceOf(SyntaxError)
  })

  it.each([
    ['a number', 1234567890.125],
    ['a string', 'hello; world'],
    ['an object', { a: [1, 2], b: 'x;y' }],
    ['true', true],
    ['a superjson value', { at: new Date(0), n: 12345n }],
    ['a Buffer', Buffer.from(allBytes())],
  ])('every truncation of a payload holding %s is rejected, never decoded to something else', (_label, value) => {
    const payload = codec.encode(value)
    const entry = codec.encodeEntry({ value, createdAt: 1763700000000, expiresAt: 1763700060000.5 })
    for (let length = 0; length < payload.length; length++) {
      expectCodecError(() => codec.decode(payload.slice(0, length)))
    }
    for (let length = 0; length < entry.length; length++) {
      expectCodecError(() => codec.decodeEntry(entry.slice(0, length)))
    }
  })
})

describe('entries', () => {
  const codec = createCodec()
  it.each([
    ['a plain value that never expires', { value: { a: [1, 2] }, createdAt: 1763700000000, expiresAt: undefined }],
    ['a plain value that expires', { value: 'x', createdAt: 1763700000000, expiresAt: 1763700000050 }],
    ['a value needing annotations', { value: new Map([[1, new Date(2)]]), createdAt: 0, expiresAt: 10 }],
    ['undefined', { value: undefined, createdAt: 5, expiresAt: undefined }],
    ['fractional and negative times', { value: null, createdAt: -12.5, expiresAt: 1.0000000000000002 }],
    ['huge times', { value: 1, createdAt: 8.64e15, expiresAt: Number.MAX_VALUE }],
    ['tiny times', { value: 1, createdAt: 5e-324, expiresAt: 1e-7 }],
  ])('%s round-trips', (_label, entry) => {
    const decoded = codec.decodeEntry(codec.encodeEntry(entry))
    expect(decoded).toStrictEqual(entry)
    expect('expiresAt' in decoded).toBe(true)
  })

  it('reads the documented version-1 layout', () => {
    expect(codec.decodeEntry('e1763700000000,1763700060000,j{"a":[1,"x"]};')).toStrictEqual({
      value: { a: [1, 'x'] },
      createdAt: 1763700000000,
      expiresAt: 1763700060000,
    })
    expect(codec.decodeEntry('e1.5,,s{"json":"2020-01-01T00:00:00.000Z","meta":{"values":["Date"],"v":1}};')).toEqual({
      value: new Date('2020-01-01T00:00:00.000Z'),
      createdAt: 1.5,
      expiresAt: undefined,
    })
    expect(codec.decode('j"a";')).toBe('a')
  })

  it.each([
    ['createdAt NaN', { value: 1, createdAt: Number.NaN, expiresAt: undefined }, /createdAt/],
    ['createdAt Infinity', { value: 1, createdAt: Number.POSITIVE_INFINITY, expiresAt: undefined }, /createdAt/],
    ['createdAt a string', { value: 1, createdAt: '1' as unknown as number, expiresAt: undefined }, /createdAt/],
    ['expiresAt NaN', { value: 1, createdAt: 1, expiresAt: Number.NaN }, /expiresAt/],
    ['expiresAt null', { value: 1, createdAt: 1, expiresAt: null as unknown as undefined }, /expiresAt/],
  ])('encodeEntry rejects %s with a CodecError', (_label, entry, message) => {
    expectCodecError(() => codec.encodeEntry(entry), message)
  })
})

const hasNegativeZero = (value: unknown): boolean =>
  Object.is(value, -0) || (typeof value === 'object' && value !== null && Object.values(value).some(hasNegativeZero))

const lookalikeString = fc.constantFrom(
  'j{}',
  'j1;',
  's{"json":1};',
  'e1,,j1;',
  '1{"a":1}',
  '__proto__',
  'NaN',
  '-0',
  'undefined',
  'Infinity',
  '2020-01-01T00:00:00.000Z',
)
const lookalikeKey = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'json', 'meta', 'values', 'v', 'n', 'e', 'a.b', '\\', ''),
)

describe('properties', () => {
  it('any JSON value round-trips, on the fast path unless it holds -0', () => {
    const codec = createCodec()
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => {
        const payload = codec.encode(value)
        expect(codec.decode(payload)).toStrictEqual(value)
        expect(payload.startsWith('j')).toBe(!hasNegativeZero(value))
        const entry = { value, createdAt: 1763700000000, expiresAt: undefined }
        expect(codec.decodeEntry(codec.encodeEntry(entry))).toStrictEqual(entry)
      }),
      { numRuns: 300 },
    )
  })

  it('any supported value, including metadata lookalikes, round-trips unchanged', () => {
    const codec = createCodec()
    const leaf = fc.oneof(
      fc.boolean(),
      fc.integer(),
      fc.double(),
      fc.string({ unit: 'binary' }),
      lookalikeString,
      fc.constant(null),
      fc.constant(undefined),
      fc.bigInt(),
      fc.date(),
      fc.constantFrom('', 'g', 'gimsuy').map((flags) => new RegExp('a+[/]b', flags)),
      fc.webUrl().map((url) => new URL(url)),
      fc.string().map((message) => new RangeError(message)),
      fc.uint8Array().map((bytes) => Buffer.from(bytes)),
      fc.uint8Array(),
    )
    const value = fc.anything({
      key: lookalikeKey,
      values: [leaf],
      maxDepth: 4,
      withMap: true,
      withSet: true,
      withDate: true,
      withBigInt: true,
      withTypedArray: true,
      withSparseArray: true,
      withObjectString: true,
      withBoxedValues: false,
      withNullPrototype: false,
    })
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 2 ** 50 }), (input, createdAt) => {
        expect(codec.decode(codec.encode(input))).toStrictEqual(input)
        const entry = { value: input, createdAt, expiresAt: createdAt + 1000 }
        expect(codec.decodeEntry(codec.encodeEntry(entry))).toStrictEqual(entry)
      }),
      { numRuns: 300 },
    )
  })

  it('any string is either rejected with a CodecError or decodes to what its re-encoding decodes to', () => {
    const codec = createCodec()
    const payload = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.jsonValue().map((v) => `j${JSON.stringify(v)}`),
      fc.string().map((s) => `e${s}`),
      fc.tuple(fc.string(), fc.string()).map(([a, b]) => `e${a},${b},j1;`),
    )
    fc.assert(
      fc.property(payload, (text) => {
        for (const decode of [codec.decode, codec.decodeEntry]) {
          let decoded: unknown
          try {
            decoded = decode(text)
          } catch (error) {
            expect(error).toBeInstanceOf(CodecError)
            continue
          }
          // Whatever was accepted is stable: it encodes back to a payload that decodes to the same thing.
          const again =
            decode === codec.decode
              ? codec.decode(codec.encode(decoded))
              : codec.decodeEntry(codec.encodeEntry(decoded as never))
          expect(again).toStrictEqual(decoded)
        }
      }),
      { numRuns: 500 },
    )
  })
})

describe('resolveCodec (the codec option of storage backends)', () => {
  it('gives a new working codec for undefined and returns a given codec itself', () => {
    const made = resolveCodec(undefined, 'testStorage')
    expect(made.decode(made.encode(new Map([[1, 'a']])))).toEqual(new Map([[1, 'a']]))
    expect(resolveCodec(undefined, 'testStorage')).not.toBe(made)
    const own = createCodec()
    expect(resolveCodec(own, 'testStorage')).toBe(own)
  })

  it.each([
    ['null', null],
    ['a string', 'json'],
    ['an empty object', {}],
    ['an object with only encode and decode', { encode: () => '', decode: () => 1 }],
    ['an object with only encodeEntry and decodeEntry', { encodeEntry: () => '', decodeEntry: () => ({}) }],
  ])('rejects %s with a ConfigError naming the option and the storage', (_, codec) => {
    let error: unknown
    try {
      resolveCodec(codec, 'testStorage')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ option: 'codec', code: 'E_CONFIG' })
    expect((error as Error).message).toMatch(/^testStorage: codec must be a Codec from createCodec\(\)/)
  })
})
