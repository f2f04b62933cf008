import { describe, expect, it } from '@jest/globals'
import { cacheValue, createCodec, memoryStorage } from '@memokit/core'

/*
 * Adversarial review of the codec: values that came back different from what was encoded, without an error.
 * Each must round-trip exactly (minus what the codec documents it does not store: extra properties of arrays,
 * non-enumerable properties) or be refused with a CodecError when encoding.
 */

const roundTrip = (value: unknown): { value: unknown; entry: unknown } => {
  const codec = createCodec()
  return {
    value: codec.decode(codec.encode(value)),
    entry: codec.decodeEntry(codec.encodeEntry({ value, createdAt: 1, expiresAt: undefined, meta: { promise: true } }))
      .value,
  }
}

/** An Array with `props` set on it as own properties (enumerable unless `hidden`). */
const arrayWith = (items: unknown[], props: Record<string, unknown>, hidden = false): unknown[] => {
  const a = [...items]
  for (const [k, v] of Object.entries(props)) {
    Object.defineProperty(a, k, { value: v, enumerable: !hidden, writable: true, configurable: true })
  }
  return a
}

describe('a toJSON method on a stored array or object', () => {
  // JSON.stringify calls toJSON; the codec stored its result in place of the data, so a hit returned something
  // else than the miss. The data must be stored (toJSON, like any extra property, is not).
  it.each<[string, () => unknown, unknown]>([
    ['an array with an own toJSON', () => arrayWith([1, 2], { toJSON: () => 'gotcha' }), [1, 2]],
    ['an array with a hidden toJSON', () => arrayWith([1, 2], { toJSON: () => null }, true), [1, 2]],
    [
      'an object with a hidden toJSON',
      () => Object.defineProperty({ x: 1 }, 'toJSON', { value: () => ({ y: 2 }), enumerable: false }),
      { x: 1 },
    ],
    ['such an array nested', () => ({ list: [arrayWith(['a'], { toJSON: () => 'b' })] }), { list: [['a']] }],
    [
      'such an array next to a Date (the superjson path)',
      () => ({ list: arrayWith([1], { toJSON: () => 'gotcha' }), at: new Date(5) }),
      { list: [1], at: new Date(5) },
    ],
    [
      'such an array as a Map value',
      () => new Map([['k', arrayWith([1], { toJSON: () => 0 })]]),
      new Map([['k', [1]]]),
    ],
  ])('%s comes back as its data', (_label, make, expected) => {
    const { value, entry } = roundTrip(make())
    expect(value).toStrictEqual(expected)
    expect(entry).toStrictEqual(expected)
  })
})

describe('extra properties of an array on the superjson path', () => {
  // superjson copies an array's own enumerable properties and annotates their values by path; JSON drops the
  // properties, and decoding applied the annotations to the array anyway: a property `NaN` appeared, or, for a
  // property named like an index (`01`), an element was replaced.
  it('a RegExp match (index, input, groups: undefined) next to a Date comes back as its elements', () => {
    const match = /b/.exec('abc') as RegExpExecArray
    const { value, entry } = roundTrip({ match, at: new Date(1) })
    for (const decoded of [value, entry] as { match: unknown[] }[]) {
      expect(decoded.match).toStrictEqual(['b'])
      expect(Object.keys(decoded.match)).toEqual(['0'])
    }
  })

  it.each<[string, Record<string, unknown>]>([
    ['a Date', { extra: new Date(0) }],
    ['undefined', { extra: undefined }],
    ['a BigInt', { extra: 5n }],
  ])('an extra property holding %s adds nothing on decode', (_label, props) => {
    const { value, entry } = roundTrip({ list: arrayWith([1, 2], props), at: new Date(1) })
    expect(value).toStrictEqual({ list: [1, 2], at: new Date(1) })
    expect(entry).toStrictEqual({ list: [1, 2], at: new Date(1) })
  })

  it('an extra property named like an index never replaces an element', () => {
    // Decoded, `01` was read as index 1: the element 'x' became new Date('x'), an invalid Date.
    const { value, entry } = roundTrip({ list: arrayWith([1, 'x'], { '01': new Date(0) }), at: new Date(1) })
    expect(value).toStrictEqual({ list: [1, 'x'], at: new Date(1) })
    expect(entry).toStrictEqual({ list: [1, 'x'], at: new Date(1) })
  })
})

describe('through cacheValue over a codec-backed storage', () => {
  it('a hit returns the data the miss returned, not what toJSON says', async () => {
    // A minimal string-holding storage: what every remote backend does with the codec.
    const codec = createCodec()
    const inner = memoryStorage()
    const storage = {
      async: false as const,
      name: 'codec-strings',
      get: (ns: string, key: string) => {
        const e = inner.get(ns, key)
        return e === undefined ? undefined : codec.decodeEntry(e.value as string)
      },
      set: (ns: string, key: string, value: unknown, opts?: { ttl?: number; meta?: Record<string, unknown> }) =>
        inner.set(ns, key, codec.encodeEntry({ value, createdAt: Date.now(), expiresAt: undefined, meta: opts?.meta })),
      delete: (ns: string, key: string) => inner.delete(ns, key),
      clear: (ns: string, prefix?: string) => inner.clear(ns, prefix),
    }
    const rows = cacheValue((id: number) => arrayWith([{ id }], { toJSON: () => 'serialized' }), {
      storage,
      name: 'adversarial.rows',
    })
    const miss = rows(1)
    const hit = rows(1)
    expect(miss).toStrictEqual(arrayWith([{ id: 1 }], { toJSON: expect.any(Function) }))
    expect(hit).toStrictEqual([{ id: 1 }])
  })
})
