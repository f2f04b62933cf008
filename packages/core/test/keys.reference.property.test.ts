import { describe, expect, it, jest } from '@jest/globals'
import fc from 'fast-check'
import { isSparse } from '../src/key-walk'
import { createKeyEncoder, type KeyEncoderOptions } from '../src/keys'
import { argList, objectFrom, primitive, value } from './key-arbitraries'
import { createReferenceKeyEncoder } from './key-reference'

/*
 * Issue 14: the JSON fast path for large values (key-json.ts) and the hashing of long encodings in pieces must
 * leave every key exactly as it was. The reference is the encoder from before them (key-reference.ts); both get
 * the same inputs, and must return the same key or throw the same error.
 */
const runs = { numRuns: 50 }

function outcome(encode: (args: readonly unknown[]) => string, args: readonly unknown[]): string {
  try {
    return `key ${encode(args)}`
  } catch (error) {
    const e = error as Error & { code?: string; path?: string }
    return `${e.name} ${e.code} ${e.path} ${e.message}`
  }
}

let counter = 0
function pair(options: Omit<KeyEncoderOptions, 'functionName'> = {}) {
  const functionName = `ref.${process.pid}.${++counter}`
  return {
    current: createKeyEncoder({ functionName, ...options }),
    reference: createReferenceKeyEncoder({ functionName, ...options }),
  }
}

function expectSame(p: ReturnType<typeof pair>, args: readonly unknown[]): string {
  const expected = outcome(p.reference, args)
  expect(outcome(p.current, args)).toBe(expected)
  return expected
}

// Values JSON writes as the encoder does, and values it doesn't (poison), so that the fast path both succeeds and
// gives up, at any depth and position.
const poison = fc.oneof(
  fc.constantFrom<unknown>(undefined, -0, Number.NaN, Number.POSITIVE_INFINITY, 1n, new Date(0), new Map([[1, 2]])),
  fc.constant(new Set(['a'])),
  fc.constant(Buffer.from([1])),
)
const cleanLeaf = fc.oneof(
  { arbitrary: fc.integer(), weight: 4 },
  { arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 6 }), weight: 3 },
  { arbitrary: fc.constantFrom<unknown>(true, false, null, 0, '', '"', '\ud800'), weight: 2 },
)
const mixedLeaf = fc.oneof(
  { arbitrary: cleanLeaf, weight: 10 },
  { arbitrary: primitive, weight: 1 },
  { arbitrary: poison, weight: 1 },
)
const name = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'b', 'id', 'name', 'toJSON', '"', ''), weight: 4 },
  { arbitrary: fc.constantFrom('0', '1', '10', '9', '__proto__', 'constructor'), weight: 1 },
  { arbitrary: fc.string({ maxLength: 3 }), weight: 2 },
)

function shapes(leaf: fc.Arbitrary<unknown>) {
  const { node } = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      { arbitrary: leaf, weight: 5 },
      { arbitrary: fc.array(tie('node'), { maxLength: 6 }), weight: 2 },
      {
        arbitrary: fc
          .tuple(fc.uniqueArray(fc.tuple(name, tie('node')), { maxLength: 6, selector: (e) => e[0] }), fc.boolean())
          .map(([entries, nullProto]) => objectFrom(entries, nullProto)),
        weight: 2,
      },
    ),
  }))
  // Past the fast path's size threshold (64), and trees of small containers past its work threshold.
  return fc.oneof(
    fc.array(leaf, { minLength: 60, maxLength: 400 }),
    fc.array(node, { minLength: 60, maxLength: 200 }),
    fc.sparseArray(leaf, { maxLength: 300, minNumElements: 60 }),
    // Mostly holes: the encoder's sparse form.
    fc.sparseArray(leaf, { maxLength: 300, maxNumElements: 30 }),
    fc
      .tuple(
        fc.uniqueArray(fc.tuple(name, node), { minLength: 60, maxLength: 120, selector: (e) => e[0] }),
        fc.boolean(),
      )
      .map(([entries, nullProto]) => objectFrom(entries, nullProto)),
    fc.array(fc.array(node, { minLength: 20, maxLength: 50 }), { minLength: 20, maxLength: 50 }),
    fc.array(leaf, { minLength: 60, maxLength: 200 }).map((xs) => ({ outer: { inner: xs }, n: xs.length })),
  )
}
/** Clean ones, mixed ones, and clean ones with one poison value at a random place. */
const large = fc.oneof(
  shapes(cleanLeaf),
  shapes(mixedLeaf),
  fc.tuple(fc.array(cleanLeaf, { minLength: 60, maxLength: 300 }), poison, fc.nat()).map(([xs, bad, at]) => {
    xs[at % xs.length] = bad
    return xs
  }),
)
const bigArgs = fc.array(fc.oneof({ arbitrary: large, weight: 3 }, { arbitrary: value, weight: 1 }), {
  minLength: 1,
  maxLength: 3,
})

describe('the key encoder equals the reference encoder (from before the JSON fast path)', () => {
  for (const typed of [false, true]) {
    it(`on small argument lists (typed: ${typed})`, () => {
      const p = pair({ typed })
      fc.assert(
        fc.property(argList, (args) => {
          expectSame(p, args)
        }),
        { numRuns: 400 },
      )
    })

    it(`on large argument lists, JSON-like or not (typed: ${typed})`, () => {
      const p = pair({ typed })
      fc.assert(
        fc.property(bigArgs, (args) => {
          expectSame(p, args)
        }),
        runs,
      )
    })
  }

  it('with ignored arguments, a custom key function and type encoders (where the fast path stays off)', () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    const variants = [
      pair({ ignoreArgs: [1] }),
      pair({ key: (...args: unknown[]) => ({ args }) }),
      pair({ key: (first: unknown) => first }),
      pair({ typeEncoders: [[Money, (m: Money) => m.cents]] }),
      pair({ typed: true, typeEncoders: [[Object, () => 'any object']] }),
    ]
    fc.assert(
      fc.property(bigArgs, fc.integer({ min: 0, max: 1000 }), (args, cents) => {
        for (const p of variants) expectSame(p, [...args, new Money(cents)])
      }),
      { numRuns: 30 },
    )
  })

  it('the large inputs exercise both outcomes of the fast path and the sparse form (guards a vacuous test)', () => {
    // JSON.stringify is called with an object only by the fast path (the encoder's own calls quote strings).
    const encode = createKeyEncoder({ functionName: 'ref.guard' })
    const samples = fc.sample(large, { numRuns: 300, seed: 14 })
    const spy = jest.spyOn(JSON, 'stringify')
    let taken = 0
    try {
      for (const v of samples) {
        spy.mockClear()
        encode([v])
        if (spy.mock.calls.some(([x]) => typeof x === 'object')) taken++
      }
    } finally {
      spy.mockRestore()
    }
    expect(taken).toBeGreaterThan(30)
    expect(taken).toBeLessThan(240)
    expect(samples.filter((v) => Array.isArray(v) && isSparse(v.length, Object.keys(v).length)).length).toBeGreaterThan(
      10,
    )
  })

  it('on the K1 benchmark shapes at full size', () => {
    const p = pair()
    const numbers = Array.from({ length: 1_000_000 }, (_, i) => i * 1.5 - 7)
    const objects = Array.from({ length: 100_000 }, (_, i) => ({ id: i, name: `user${i}`, ok: i % 2 === 0 }))
    const tree = (d: number): unknown => (d === 0 ? { a: d, b: 'x' } : { l: tree(d - 1), r: tree(d - 1), v: d })
    for (const args of [[numbers], [objects, 1], [{ tree: tree(12) }]]) {
      expect(expectSame(p, args)).toMatch(/^key ref\.\d+\.\d+:#[\w-]{43}$/)
    }
    // One -0 or hole at the very end: the fast path reads everything, gives up, and the encoder writes it.
    const fewer = numbers.slice(0, 50_000)
    fewer[fewer.length - 1] = -0
    expectSame(p, [fewer])
    delete fewer[fewer.length - 1]
    expectSame(p, [fewer])
  })
})

describe('the fast path reads values as the encoder does', () => {
  it('calls each getter once when it takes the value, at most twice when it gives up', () => {
    // The last element decides: JSON-like, or (deep in its object) not.
    for (const last of [{ w: 1 }, { w: { x: undefined } }]) {
      const reads = new Map<number, number>()
      const items = Array.from({ length: 300 }, (_, i) => {
        const o = {}
        Object.defineProperty(o, 'v', {
          enumerable: true,
          get: () => {
            reads.set(i, (reads.get(i) ?? 0) + 1)
            return i
          },
        })
        return o
      })
      const p = pair()
      const key = p.current([[...items, last]])
      const counts = [...reads.values()]
      expect(counts).toHaveLength(300)
      expect(Math.max(...counts)).toBe(last.w === 1 ? 1 : 2)
      reads.clear()
      expect(p.reference([[...items, last]])).toBe(key)
    }
  })

  it('writes what a getter returned on its one read, even when the next read differs', () => {
    let n = 0
    const big = Array.from({ length: 100 }, (_, i) => i)
    Object.defineProperty(big, 5, { enumerable: true, configurable: true, get: () => (n++ === 0 ? 5 : undefined) })
    const key = pair().current([big])
    n = 0
    expect(pair().reference([big]).split(':')[1]).toBe(key.split(':')[1])
  })

  it('keeps the keys when toJSON, a species or a constructor would change what JSON.stringify writes', () => {
    const p = pair()
    const nums = Array.from({ length: 100 }, (_, i) => i)
    const withConstructor = Object.assign([...nums], { constructor: class extends Array {} })
    expectSame(p, [withConstructor])
    const proto = Object.prototype as { toJSON?: unknown }
    const arrayProto = Array.prototype as { toJSON?: unknown }
    try {
      proto.toJSON = () => 'object'
      expectSame(p, [{ big: nums }])
      delete proto.toJSON
      arrayProto.toJSON = () => 'array'
      expectSame(p, [nums])
    } finally {
      delete proto.toJSON
      delete arrayProto.toJSON
    }
    const proxied = new Proxy(nums, {})
    expectSame(p, [proxied])
  })

  it('a cycle inside a large array is the same KeyError', () => {
    const p = pair()
    const a: unknown[] = Array.from({ length: 100 }, (_, i) => i)
    a.push({ back: a })
    expect(expectSame(p, [a])).toMatch(/^KeyError/)
  })
})
