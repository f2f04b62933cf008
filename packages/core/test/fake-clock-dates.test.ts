// Dates and jest's fake timers: under `jest.useFakeTimers()` the global Date is a fake clock's subclass of the real
// one (@sinonjs/fake-timers' ClockDate), so a test's Dates come from two classes, depending on when they were made.
// Both are plain Dates to the key encoder and the codec, on either side of faking the clock; a real subclass of Date
// is still refused (codec.review.test.ts, keys.test.ts).
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { cacheValue, createCodec, memoryStorage } from '@memokit/core'
import { uniqueNamespace } from './helpers'

afterEach(() => {
  jest.useRealTimers()
})

const T = Date.UTC(2030, 0, 2, 3, 4, 5, 6)

describe('Dates made with and without a fake clock', () => {
  it('round-trip through the codec while the clock is faked, and after it is restored', () => {
    const codec = createCodec()
    const real = new Date(T)
    jest.useFakeTimers({ now: T })
    const faked = new Date()
    const invalid = new Date(Number.NaN)
    expect(Object.getPrototypeOf(faked)).not.toBe(Object.getPrototypeOf(real))
    for (const value of [real, faked, { at: [real, faked] }]) {
      expect(codec.decode(codec.encode(value))).toEqual(value)
    }
    expect(Number.isNaN((codec.decode(codec.encode(invalid)) as Date).getTime())).toBe(true)
    jest.useRealTimers()
    const back = codec.decode(codec.encode({ faked, invalid })) as { faked: Date; invalid: Date }
    expect(back.faked).toBeInstanceOf(Date)
    expect(back.faked.getTime()).toBe(T)
    expect(Number.isNaN(back.invalid.getTime())).toBe(true)
  })

  it('key a cached function the same way: a faked-clock Date hits the entry of a real Date of the same time', () => {
    let calls = 0
    const cached = cacheValue(
      function yearOf(d: Date): number {
        calls++
        return d.getUTCFullYear()
      },
      { storage: memoryStorage(), namespace: uniqueNamespace() },
    )
    jest.useFakeTimers({ now: T })
    const faked = new Date()
    expect(cached(faked)).toBe(2030)
    jest.useRealTimers()
    expect(cached(faked)).toBe(2030)
    expect(cached(new Date(T))).toBe(2030)
    expect(calls).toBe(1)
  })
})
