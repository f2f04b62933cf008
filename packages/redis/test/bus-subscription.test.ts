// One subscription's state machine (bus-subscription.ts), without a server: what stop() does to a subscribe still
// waiting for Redis to confirm it. The round trips themselves are tested on real servers in bus.test.ts.
import { describe, expect, it } from '@jest/globals'
import { createSubscription } from '../src/bus-subscription'

const handlers = { message: () => {}, state: () => {} }
const noop = () => {}
const subscription = () => createSubscription('channel', handlers, noop, noop)
const settledWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => 'resolved',
      () => 'rejected',
    ),
    new Promise((resolve) => setTimeout(() => resolve('pending'), ms)),
  ])

describe('a subscription stopped before Redis confirmed it', () => {
  it('rejects its confirmation at once, so a subscribe waiting on it ends with the bus, not at its timeout', async () => {
    const sub = subscription()
    sub.stop()
    expect(await settledWithin(sub.confirmed, 50)).toBe('rejected')
  })

  it('keeps a confirmation that came first', async () => {
    const sub = subscription()
    sub.confirm()
    sub.stop()
    expect(await settledWithin(sub.confirmed, 50)).toBe('resolved')
  })
})
