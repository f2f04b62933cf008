import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { ConfigError } from '../src/errors'
import { createKeyEncoder, type KeyEncoderOptions } from '../src/keys'
import { structEq, tiny, value } from './key-arbitraries'

/*
 * Issue 8: sparse arrays with a huge length, NaN bit patterns inside float arrays, and `typed: true` with two
 * classes of the same name.
 */
let counter = 0
const encoder = (options: Omit<KeyEncoderOptions, 'functionName'> = {}) =>
  createKeyEncoder({ functionName: `shapes.${process.pid}.${++counter}`, ...options })
const encodingOf = (key: string) => key.slice(key.indexOf(':') + 1)

/** An array of `length` slots holding only `elements` (index → value); every other slot is a hole. */
function sparse(length: number, elements: Record<number, unknown>): unknown[] {
  const a: unknown[] = []
  for (const [i, x] of Object.entries(elements)) a[Number(i)] = x
  a.length = length
  return a
}

describe('sparse arrays', () => {
  it('encodes one element in an array of length 2**32 - 1 at once, not slot by slot', () => {
    const encode = encoder()
    const started = performance.now()
    const key = encode([sparse(2 ** 32 - 1, { 0: 1 })])
    const large = encode([sparse(2 ** 32 - 1, { 4000000000: 'x', 7: null })])
    expect(performance.now() - started).toBeLessThan(500)
    expect(encodingOf(key)).toBe('[Array(4294967295)[0:1]]')
    expect(encodingOf(large)).toBe('[Array(4294967295)[7:null,4000000000:"x"]]')
  })

  it("keeps today's keys for dense arrays and for arrays with few holes", () => {
    const encode = encoder()
    // biome-ignore lint/suspicious/noSparseArray: holes are what is tested
    expect(encodingOf(encode([[1, , 3]]))).toBe('[[1,_,3]]')
    expect(encodingOf(encode([new Array(3)]))).toBe('[[_,_,_]]')
    expect(encodingOf(encode([sparse(64, {})]))).toBe(`[[${Array(64).fill('_').join(',')}]]`)
    // Holes may outnumber elements up to 64 of them and still use the dense form.
    expect(encodingOf(encode([sparse(65, { 0: 1 })]))).toBe(`[[1${',_'.repeat(64)}]]`)
    expect(encodingOf(encode([[1, 2, 3]]))).toBe('[[1,2,3]]')
  })

  it('uses the sparse form when holes are more than 64 and more than the elements', () => {
    const encode = encoder()
    expect(encodingOf(encode([sparse(66, { 0: 1 })]))).toBe('[Array(66)[0:1]]')
    expect(encodingOf(encode([sparse(65, {})]))).toBe('[Array(65)[]]')
    // 70 elements and 70 holes: the dense form (holes do not outnumber elements).
    const half = sparse(140, Object.fromEntries(Array.from({ length: 70 }, (_, i) => [i * 2, i])))
    expect(encode([half]).includes('Array(')).toBe(false)
  })

  it('gives the same key however the array was built (fast holey or dictionary elements)', () => {
    const encode = encoder()
    const a = new Array(1000)
    a[999] = 'last'
    const b: unknown[] = []
    b[999] = 'last'
    const c = Object.assign([], { 999: 'last' })
    const d = sparse(1000, { 999: 'last' })
    expect(new Set([a, b, c, d].map((x) => encode([x]))).size).toBe(1)
  })

  it('never lets a sparse form collide with a dense array, a string or another sparse array', () => {
    const encode = encoder()
    const lists: unknown[][] = [
      [sparse(100, { 0: 1 })],
      [sparse(100, { 1: 1 })],
      [sparse(101, { 0: 1 })],
      [sparse(100, { 0: undefined })],
      [sparse(100, {})],
      [sparse(100, { 0: sparse(100, { 0: 1 }) })],
      [[1]],
      [[1, ...new Array(99).fill(undefined)]],
      ['Array(100)[0:1]'],
      [{ 0: 1, length: 100 }],
    ]
    const keys = lists.map(encode)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('a value in a sparse array that cannot be encoded is a KeyError naming its index', () => {
    const encode = encoder()
    expect(() => encode([sparse(2 ** 32 - 1, { 12345: () => 1 })])).toThrow(/args\[0\]\[12345\] is a function/)
  })

  it('property: keys of long, mostly empty arrays are equal exactly when the arrays are', () => {
    // Few elements at random places in up to 300 slots, so the sparse and dense forms meet near the threshold.
    const longSparse = fc.sparseArray(fc.oneof(tiny, value), { maxLength: 300, maxNumElements: 80 })
    const encode = encoder()
    fc.assert(
      fc.property(longSparse, longSparse, (a, b) => {
        expect(encode([a]) === encode([b])).toBe(structEq(a, b, false))
        const copy: unknown[] = new Array(a.length)
        for (const i of Object.keys(a).reverse()) copy[Number(i)] = a[Number(i)]
        expect(encode([copy])).toBe(encode([a]))
      }),
      { numRuns: 300 },
    )
  })
})

/** A float array whose element `index` is a NaN with the given bit pattern (as unsigned integer bits). */
function nanArray(type: 'f64' | 'f32', bits: bigint | number, length = 1, index = 0) {
  if (type === 'f64') {
    const a = new Float64Array(length)
    new BigUint64Array(a.buffer)[index] = bits as bigint
    return a
  }
  const a = new Float32Array(length)
  new Uint32Array(a.buffer)[index] = bits as number
  return a
}

describe('NaN inside Float32Array and Float64Array', () => {
  it('keeps NaNs with different bit patterns apart: a function may read the bytes', () => {
    const encode = encoder()
    const arrays = [
      new Float64Array([Number.NaN]),
      nanArray('f64', 0x7ff8_0000_0000_0001n),
      nanArray('f64', 0xfff8_0000_0000_0000n),
      nanArray('f64', 0x7ff0_0000_0000_0001n), // a signalling NaN
    ]
    for (const a of arrays) expect(Number.isNaN(a[0])).toBe(true)
    expect(new Set(arrays.map((a) => encode([a]))).size).toBe(arrays.length)
    const singles = [new Float32Array([Number.NaN]), nanArray('f32', 0x7fc0_0001), nanArray('f32', 0xffc0_0000)]
    expect(new Set(singles.map((a) => encode([a]))).size).toBe(singles.length)
  })

  it('keeps the key of the NaN that JavaScript writes, and the same bits give the same key', () => {
    const encode = encoder()
    expect(encodingOf(encode([new Float64Array([1, Number.NaN])]))).toBe('[Float64Array[1,NaN]]')
    expect(encodingOf(encode([new Float32Array([Number.NaN])]))).toBe('[Float32Array[NaN]]')
    expect(encodingOf(encode([nanArray('f64', 0xfff8_0000_0000_0000n, 2, 1)]))).toBe(
      '[Float64Array[0,NaN:fff8000000000000]]',
    )
    expect(encodingOf(encode([nanArray('f32', 0x7fc0_0001)]))).toBe('[Float32Array[NaN:7fc00001]]')
    const a = nanArray('f64', 0x7ff8_dead_beef_0001n)
    expect(encode([a])).toBe(encode([new Float64Array(a)]))
    expect(encode([a.subarray(0, 1)])).toBe(encode([a]))
  })
})

describe('typed: true and classes with the same name', () => {
  const makeMoney = () =>
    class Money {
      constructor(readonly cents: number) {}
    }

  it('keeps apart two classes named alike, each with its own type encoder', () => {
    const Euro = makeMoney()
    const Dollar = makeMoney()
    expect(Euro.name).toBe(Dollar.name)
    const typed = encoder({
      typed: true,
      typeEncoders: [
        [Euro, (m: InstanceType<typeof Euro>) => m.cents],
        [Dollar, (m: InstanceType<typeof Dollar>) => m.cents],
      ],
    })
    expect(typed([new Euro(5)])).not.toBe(typed([new Dollar(5)]))
    expect(typed([new Euro(5)])).toBe(typed([new Euro(5)]))
    expect(encodingOf(typed([new Dollar(5)]))).toBe('[@1:Money(5)]')
  })

  it('keeps apart same-named subclasses matched by one encoder only by name, which the README says', () => {
    class Base {
      constructor(readonly id: string) {}
    }
    class Left extends Base {}
    class Right extends Base {}
    const typed = encoder({ typed: true, typeEncoders: [[Base, (b: Base) => b.id]] })
    expect(typed([new Left('a')])).not.toBe(typed([new Right('a')]))
    expect(encodingOf(typed([new Left('a')]))).toBe('[@0:Left("a")]')
  })

  it('a class name that is not an identifier is quoted', () => {
    const Odd = { 'odd name': class {} }['odd name'] as new () => object
    const typed = encoder({ typed: true, typeEncoders: [[Odd, () => 1]] })
    expect(encodingOf(typed([new Odd()]))).toBe('[@0:"odd name"(1)]')
  })
})

describe('function identity', () => {
  it('a name with a lone surrogate is a ConfigError at once (storages that hold UTF-8 would garble it)', () => {
    expect(() => createKeyEncoder({ functionName: 'users\ud800' })).toThrow(ConfigError)
    expect(() => createKeyEncoder({ functionName: 'users\ud800' })).toThrow(/lone surrogate/)
    expect(() => createKeyEncoder({ functionName: 'users😀' })).not.toThrow()
  })
})
