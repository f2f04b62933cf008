import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { MAX_RELATIVE_EXPTIME_S, toExptime } from '../src/ttl'

// 2026-01-01T00:00:00Z, in ms and in s, worked out by hand: 20454 days * 86400 s.
const NOW_MS = Date.UTC(2026, 0, 1)
const NOW_S = 1_767_225_600
const DAY_MS = 86_400_000

describe('toExptime (ms TTL to memcached exptime)', () => {
  afterEach(() => {
    jest.useRealTimers()
  })

  it('sends 0 (no expiry) without a ttl', () => {
    expect(toExptime(undefined, NOW_MS)).toBe(0)
  })

  it('rounds up to whole seconds, never down', () => {
    expect(toExptime(1, NOW_MS)).toBe(1)
    expect(toExptime(999, NOW_MS)).toBe(1)
    expect(toExptime(1000, NOW_MS)).toBe(1)
    expect(toExptime(1001, NOW_MS)).toBe(2)
    expect(toExptime(1500.5, NOW_MS)).toBe(2)
    expect(toExptime(59_000, NOW_MS)).toBe(59)
  })

  it('keeps exactly 30 days relative (memcached reads only larger values as timestamps)', () => {
    expect(MAX_RELATIVE_EXPTIME_S).toBe(30 * 24 * 3600)
    expect(toExptime(30 * DAY_MS, NOW_MS)).toBe(2_592_000)
    expect(toExptime(30 * DAY_MS - 1, NOW_MS)).toBe(2_592_000)
  })

  it('sends an absolute Unix time (seconds, rounded up) past 30 days', () => {
    expect(toExptime(30 * DAY_MS + 1, NOW_MS)).toBe(NOW_S + 2_592_001)
    expect(toExptime(31 * DAY_MS, NOW_MS)).toBe(NOW_S + 2_678_400)
    expect(toExptime(31 * DAY_MS, NOW_MS + 500)).toBe(NOW_S + 2_678_401)
    expect(toExptime(365 * DAY_MS, NOW_MS)).toBe(NOW_S + 31_536_000)
  })

  it('reads the clock (Date.now) when no time is given', () => {
    jest.useFakeTimers({ now: NOW_MS })
    expect(toExptime(31 * DAY_MS)).toBe(NOW_S + 2_678_400)
    jest.setSystemTime(NOW_MS + 10_000)
    expect(toExptime(31 * DAY_MS)).toBe(NOW_S + 10 + 2_678_400)
    // Relative TTLs don't depend on the clock.
    expect(toExptime(1500)).toBe(2)
  })

  it('sends 0 when the deadline lies past what memcached can represent (2038), leaving expiry to reads', () => {
    // 2038-01-19T03:14:07Z is 2^31 - 1 s.
    const last = 2_147_483_647_000
    expect(toExptime(last - NOW_MS, NOW_MS)).toBe(2_147_483_647)
    expect(toExptime(last - NOW_MS + 1000, NOW_MS)).toBe(0)
    expect(toExptime(100 * 365 * DAY_MS, NOW_MS)).toBe(0)
  })
})
