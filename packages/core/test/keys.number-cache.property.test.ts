import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { createKeyEncoder } from '../src/keys'
import { createReferenceKeyEncoder } from './key-reference'

/*
 * Issue 14: the key of one number argument is kept per int32 value (keys.ts numberKeys), so a later call gets the
 * same string. Keys must stay exactly what the encoder from before returned (key-reference.ts), whatever came
 * before in the same encoder: slots shared by values 256 apart, 0 and -0, and values the cache leaves out.
 */
const awkward = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  255,
  256,
  -256,
  512,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  2 ** 32 + 7,
  -(2 ** 32) + 7,
  1.5,
  -0.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_VALUE,
)
const number = fc.oneof(
  awkward,
  fc.integer({ min: -600, max: 600 }),
  fc.integer({ min: 0, max: 3 }).map((k) => 7 + 256 * k),
  fc.double(),
)

let counter = 0

describe('keys of one number argument, kept per value', () => {
  it('equal the reference encoder on any sequence of calls of one encoder', () => {
    fc.assert(
      fc.property(fc.array(number, { maxLength: 200 }), (calls) => {
        const functionName = `num.${process.pid}.${++counter}`
        const current = createKeyEncoder({ functionName })
        const reference = createReferenceKeyEncoder({ functionName })
        for (const n of calls) expect(current([n])).toBe(reference([n]))
      }),
      { numRuns: 300 },
    )
  })

  it('keeps 0 and -0 apart, and values that share a slot', () => {
    const encode = createKeyEncoder({ functionName: 'num.same' })
    const first = encode([42])
    expect(encode([42 + 256])).not.toBe(first)
    expect(encode([42])).toBe('num.same:[42]')
    expect(encode([0])).toBe('num.same:[0]')
    expect(encode([-0])).toBe('num.same:[-0]')
    expect(encode([0])).toBe('num.same:[0]')
  })
})
