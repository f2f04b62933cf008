// Adversarial review of the Redis bus' subscription state machine (bus-subscription.ts), without a server: after a
// loss it probes with backoff until a probe comes back. A 'ready' while a probe is already scheduled must not start
// a second probing loop beside the first (each reconnect of a flapping subscriber would add one more).
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { createSubscription } from '../src/bus-subscription'

beforeEach(() => {
  jest.useFakeTimers()
})
afterEach(() => {
  jest.useRealTimers()
})

describe('probing after a loss', () => {
  it('one probing loop, however many times the connection says ready before a probe comes back', () => {
    const probes: string[] = []
    const sub = createSubscription(
      'channel',
      { message: () => {}, state: () => {} },
      (_, m) => probes.push(m),
      () => {},
    )
    sub.confirm()
    sub.down()
    // Three reconnects that didn't get a probe through (each 'ready' probes at once, as it should).
    sub.ready()
    sub.ready()
    sub.ready()
    expect(probes).toHaveLength(3)
    probes.length = 0
    // Then, with one loop, the backoff sends one probe per step: 50, 100, 200, 400, 800, 1000 ms...
    jest.advanceTimersByTime(50 + 100 + 200 + 400 + 800 + 1000 + 1000)
    expect(probes.length).toBeLessThanOrEqual(7)
    sub.stop()
  })
})
