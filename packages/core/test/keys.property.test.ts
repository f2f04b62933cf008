import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { createKeyEncoder } from '../src/keys'
import { argList, listEq, primitive, reshuffle, structEq, tiny, value } from './key-arbitraries'

const runs = { numRuns: 400 }

describe('key encoder properties', () => {
  for (const typed of [false, true]) {
    describe(typed ? 'typed' : 'untyped', () => {
      const encode = createKeyEncoder({ functionName: `prop.${typed}.${Math.random()}`, typed })

      it('stability: a reshuffled deep copy gets the same key', () => {
        fc.assert(
          fc.property(argList, (args) => {
            expect(encode(args.map(reshuffle))).toBe(encode(args))
          }),
          runs,
        )
      })

      it('injectivity: keys are equal exactly when the argument lists are structurally equal', () => {
        fc.assert(
          fc.property(fc.array(argList, { minLength: 2, maxLength: 8 }), (lists) => {
            const keys = lists.map(encode)
            for (let i = 0; i < lists.length; i++) {
              for (let j = i + 1; j < lists.length; j++) {
                const equal = listEq(lists[i] as unknown[], lists[j] as unknown[], typed)
                if ((keys[i] === keys[j]) !== equal) {
                  throw new Error(`${equal ? 'equal lists got different keys' : 'different lists share'} ${keys[i]}`)
                }
              }
            }
          }),
          runs,
        )
      })

      it('injectivity on a tiny domain: many equal and nearly equal lists, keys agree with the reference', () => {
        let equalPairs = 0
        let unequalPairs = 0
        fc.assert(
          fc.property(fc.array(fc.array(tiny, { maxLength: 2 }), { minLength: 10, maxLength: 30 }), (lists) => {
            const keys = lists.map(encode)
            for (let i = 0; i < lists.length; i++) {
              for (let j = i + 1; j < lists.length; j++) {
                const equal = listEq(lists[i] as unknown[], lists[j] as unknown[], typed)
                if (equal) equalPairs++
                else unequalPairs++
                if ((keys[i] === keys[j]) !== equal) {
                  throw new Error(`${equal ? 'equal lists got different keys' : 'different lists share'} ${keys[i]}`)
                }
              }
            }
          }),
          runs,
        )
        // The domain is small enough that both outcomes are exercised a lot.
        expect(equalPairs).toBeGreaterThan(1000)
        expect(unequalPairs).toBeGreaterThan(1000)
      })

      it('injectivity on near misses: a one-place change gives a different key', () => {
        fc.assert(
          fc.property(argList, value, fc.nat(), (args, replacement, at) => {
            if (args.length === 0) return
            const i = at % args.length
            const changed = [...args]
            changed[i] = replacement
            const equal = structEq(args[i], replacement, typed)
            expect(encode(changed) === encode(args)).toBe(equal)
            // Wrapping one argument in an array or adding a trailing undefined always changes the key.
            expect(encode([...args.slice(0, i), [args[i]], ...args.slice(i + 1)])).not.toBe(encode(args))
            expect(encode([...args, undefined])).not.toBe(encode(args))
          }),
          runs,
        )
      })
    })
  }

  it('a custom key never collides with an argument list', () => {
    const name = `prop.custom.${Math.random()}`
    const plain = createKeyEncoder({ functionName: name })
    const custom = createKeyEncoder({ functionName: name, key: (...args: unknown[]) => args })
    fc.assert(
      fc.property(argList, argList, (a, b) => {
        expect(custom(a)).not.toBe(plain(b))
        expect(custom(a) === custom(b)).toBe(listEq(a, b, false))
      }),
      runs,
    )
  })

  it('strings are encoded exactly as JSON.stringify does, short or long', () => {
    const name = `prop.json.${Math.random()}`
    const encode = createKeyEncoder({ functionName: name })
    const custom = createKeyEncoder({ functionName: name, key: (x: unknown) => ({ x }) })
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.string({ unit: 'binary', minLength: 40, maxLength: 60 }),
          primitive.filter((x) => typeof x === 'string'),
        ),
        (s) => {
          const json = JSON.stringify(s)
          if (json.length <= 150) {
            expect(encode([s])).toBe(`${name}:[${json}]`)
            expect(encode([s, 1])).toBe(`${name}:[${json},1]`)
            expect(custom([s])).toBe(`${name}:~{"x":${json}}`)
          }
        },
      ),
      runs,
    )
  })

  it('the reference equality itself tells values apart (guards against a vacuous test)', () => {
    expect(structEq({ a: 1 }, { a: 1 }, false)).toBe(true)
    expect(structEq({ a: 1 }, { a: 2 }, false)).toBe(false)
    // biome-ignore lint/suspicious/noSparseArray: holes are what is compared
    expect(structEq([1, , 2], [1, undefined, 2], false)).toBe(false)
    expect(structEq(new Set([1, 2]), new Set([2, 1]), false)).toBe(true)
    expect(structEq(Buffer.from([1]), new Uint8Array([1]), false)).toBe(false)
    expect(structEq(-0, 0, false)).toBe(false)
    const samples = fc.sample(argList, { numRuns: 200, seed: 42 })
    const distinctPairs = samples.filter((a, i) => i > 0 && !listEq(a, samples[i - 1] as unknown[], false))
    expect(distinctPairs.length).toBeGreaterThan(100)
  })
})
