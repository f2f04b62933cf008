import { runInNewContext } from 'node:vm'
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { NO_SCAN, scanArgs } from '../src/arg-scan'
import { matchesKey } from '../src/arg-scan-match'
import { createRecentHits, findRecent, type RecentHits, rememberRecent } from '../src/arg-scan-recent'
import { createKeyEncoder } from '../src/keys'
import { argList, objectFrom, primitive, reshuffle, tiny } from './key-arbitraries'

/*
 * The argument scan must agree exactly with the key encoder: a scanned list matches a key, and finds a remembered
 * list, exactly when the key encoder gives both the same key. The encoder is the reference here; its own
 * properties are tested in keys.property.test.ts.
 */

const NAME = 'scan.f'
const encode = createKeyEncoder({ functionName: NAME })
const START = `${NAME}:[`
const isDigest = (key: string) => key.startsWith(`${NAME}:#`)

// Values the scan handles (primitives, arrays with holes, plain and null-prototype objects), nested.
const { plain } = fc.letrec<{ plain: unknown }>((tie) => ({
  plain: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    { arbitrary: primitive, weight: 6 },
    { arbitrary: fc.array(tie('plain'), { maxLength: 3 }), weight: 2 },
    { arbitrary: fc.sparseArray(tie('plain'), { maxLength: 3 }), weight: 1 },
    {
      arbitrary: fc
        .tuple(
          fc.uniqueArray(
            fc.tuple(fc.constantFrom('a', 'b', '', '"', '\n', 'a:b', '__proto__', '\ud800', '10', '2'), tie('plain')),
            { maxLength: 3, selector: (e) => e[0] },
          ),
          fc.boolean(),
        )
        .map(([entries, nullProto]) => objectFrom(entries, nullProto)),
      weight: 2,
    },
  ),
}))
const plainList = fc.array(plain, { maxLength: 4 })
// Mostly plain lists, some with values the scan leaves to the encoder, some tiny (many equal pairs).
const list = fc.oneof(
  { arbitrary: plainList, weight: 4 },
  { arbitrary: argList, weight: 1 },
  { arbitrary: fc.array(tiny, { maxLength: 3 }), weight: 3 },
)

const runs = { numRuns: 500 }

function remembered(args: readonly unknown[]): RecentHits | undefined {
  const h = scanArgs(args)
  const key = encode(args)
  if (h === NO_SCAN || isDigest(key)) return undefined
  const recent = createRecentHits()
  rememberRecent(recent, h, 7, key, START)
  return recent
}

describe('argument scan', () => {
  it('a scanned list matches a key exactly when the encoder gives its arguments that key', () => {
    let scanned = 0
    let matched = 0
    fc.assert(
      fc.property(list, list, fc.boolean(), (a, other, reshuffled) => {
        // Half the time an equal list built in another order, so that matches are common.
        const b = reshuffled ? a.map(reshuffle) : other
        const ka = encode(a)
        const kb = encode(b)
        if (scanArgs(a) === NO_SCAN) return
        scanned++
        expect(matchesKey(ka, START)).toBe(!isDigest(ka))
        const equal = ka === kb && !isDigest(ka)
        if (equal) matched++
        expect(matchesKey(kb, START)).toBe(equal)
        expect(matchesKey(ka.replace(`${NAME}:`, 'other:'), START)).toBe(false)
      }),
      runs,
    )
    // Guards against a vacuous pass: most lists scan, and equal pairs occur.
    expect(scanned).toBeGreaterThan(runs.numRuns / 2)
    expect(matched).toBeGreaterThan(100)
  })

  it('a remembered list is found for exactly the lists with its key, however they were built', () => {
    let found = 0
    fc.assert(
      fc.property(list, list, fc.boolean(), (a, other, reshuffled) => {
        const recent = remembered(a)
        if (recent === undefined) return
        // Half the time, an equal list built in another order; otherwise any list.
        const b = reshuffled ? a.map(reshuffle) : other
        const h = scanArgs(b)
        if (h === NO_SCAN) return
        const equal = encode(a) === encode(b)
        expect(findRecent(recent, h) !== -1).toBe(equal)
        if (equal) found++
      }),
      runs,
    )
    expect(found).toBeGreaterThan(100)
  })

  it('tells apart what the encoder tells apart: -0 and 0, holes and undefined, types, nesting, key order', () => {
    const cases: unknown[][] = [
      [0],
      [-0],
      [Number.NaN],
      ['0'],
      [0n],
      [false],
      [null],
      [undefined],
      [],
      [[]],
      [{}],
      [Object.create(null)],
      [[undefined]],
      // biome-ignore lint/suspicious/noSparseArray: a hole differs from undefined
      [[, 1]],
      [[undefined, 1]],
      [{ a: 1, b: 2 }],
      [{ b: 2, a: 1 }],
      [{ a: [1, 2] }],
      [{ a: [1], b: 2 }],
      [{ a: [1, { b: 2 }] }],
      [[1, 2], 3],
      [[1], 2, 3],
      [1, [2, 3]],
      ['a"b'],
      ['a\\"b'],
      [{ 'a"': 1 }],
      [{ '\ud800': 1 }],
      [{ '\udc00': 1 }],
    ]
    for (const a of cases) {
      const recent = remembered(a)
      expect(recent).toBeDefined()
      for (const b of cases) {
        const h = scanArgs(b)
        expect(h).not.toBe(NO_SCAN)
        expect(findRecent(recent as RecentHits, h) !== -1).toBe(encode(a) === encode(b))
      }
    }
  })

  it('leaves every value it does not handle to the key encoder', () => {
    class Point {
      x = 1
    }
    const withSymbol = { a: 1, [Symbol('s')]: 2 }
    const hiddenSymbol = Object.defineProperty({ a: 1 }, Symbol('s'), { value: 2, enumerable: false })
    let deep: unknown = 1
    for (let i = 0; i < 20; i++) deep = [deep]
    const unsupported: unknown[] = [
      new Date(0),
      new Map(),
      new Set(),
      new Uint8Array(1),
      Buffer.from('a'),
      new Point(),
      () => 1,
      Symbol('s'),
      withSymbol,
      hiddenSymbol,
      runInNewContext('({ a: 1 })'),
      runInNewContext('[1]'),
      new (class extends Array {})(),
      deep,
      'x'.repeat(201),
      Array.from({ length: 300 }, () => 0),
    ]
    for (const v of unsupported) {
      expect(scanArgs([v])).toBe(NO_SCAN)
      expect(scanArgs([1, { nested: [v] }])).toBe(NO_SCAN)
    }
    expect(scanArgs(['x'.repeat(200)])).not.toBe(NO_SCAN)
  })

  it('a throwing getter ends the scan quietly, and a scan started by a getter does not disturb the outer one', () => {
    const throwing = Object.defineProperty({}, 'a', {
      enumerable: true,
      get() {
        throw new Error('boom')
      },
    })
    expect(scanArgs([throwing])).toBe(NO_SCAN)

    let inner: number | undefined
    const reentrant = Object.defineProperty({}, 'a', {
      enumerable: true,
      get() {
        inner = scanArgs([1, 2, 3])
        return 1
      },
    })
    const args = ['x', reentrant]
    const key = encode(args)
    const h = scanArgs(args)
    expect(inner).toBe(NO_SCAN)
    expect(h).not.toBe(NO_SCAN)
    expect(matchesKey(key, START)).toBe(true)
    // Outside a scan the getter's own scan succeeds and replaces the tokens: this is why rememberRecent checks the
    // key against the tokens it is about to keep.
    expect(encode(args)).toBe(key)
    expect(inner).not.toBe(NO_SCAN)
    expect(matchesKey(key, START)).toBe(false)
    const recent = createRecentHits()
    rememberRecent(recent, h, 5, key, START)
    expect(findRecent(recent, scanArgs(args))).toBe(-1)
  })

  it('remembers nothing when the key was not built from the scanned arguments', () => {
    expect(scanArgs([1, 'a'])).not.toBe(NO_SCAN)
    const recent = createRecentHits()
    const h = scanArgs([1, 'a'])
    rememberRecent(recent, h, 3, encode([1, 'b']), START)
    expect(findRecent(recent, h)).toBe(-1)
    rememberRecent(recent, h, 3, encode([1, 'a']), START)
    expect(recent.slots[findRecent(recent, h)]).toBe(3)
  })
})
