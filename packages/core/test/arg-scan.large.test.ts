import { describe, expect, it } from '@jest/globals'
import { NO_SCAN, scanArgs } from '../src/arg-scan'

/*
 * Issue 14: the by-value scan runs on every call, so a huge argument must cost it almost nothing. It gives up once
 * an argument list has more tokens than a readable key can hold (its key is then a digest, which no scan matches).
 */
describe('the argument scan on large arguments', () => {
  it('reads at most ~200 elements of a 1,000,000-element array before giving up', () => {
    let reads = 0
    const big = new Proxy(
      Array.from({ length: 1_000_000 }, (_, i) => i),
      {
        get(target, property, receiver) {
          if (typeof property === 'string' && /^\d+$/.test(property)) reads++
          return Reflect.get(target, property, receiver)
        },
      },
    )
    expect(scanArgs([big])).toBe(NO_SCAN)
    expect(reads).toBeGreaterThan(100)
    expect(reads).toBeLessThanOrEqual(202)
  })

  it('gives up on a 10 MB string at once, and on an object with many keys after ~200 of them', () => {
    expect(scanArgs(['x'.repeat(10_000_000)])).toBe(NO_SCAN)
    let reads = 0
    const wide: Record<string, number> = {}
    for (let i = 0; i < 10_000; i++) {
      Object.defineProperty(wide, `k${i}`, {
        enumerable: true,
        get: () => {
          reads++
          return i
        },
      })
    }
    expect(scanArgs([wide])).toBe(NO_SCAN)
    expect(reads).toBeLessThanOrEqual(202)
    // A small list still scans (the test above is not vacuous).
    expect(scanArgs([[1, 2, 3], 'a'])).not.toBe(NO_SCAN)
  })
})
