// Expiry granularity: entries end at their exact ms, whatever the store rounds to or checks, and what a Keyv-level
// default ttl does. The in-memory Map under a fake clock (only Date is faked; the storage's timers stay real).
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import Keyv from 'keyv'
import { keyvStorage } from '../src'

const T0 = Date.UTC(2030, 0, 1)
const at = (ms: number): void => jest.setSystemTime(T0 + ms)

beforeEach(() => {
  jest.useFakeTimers({
    now: T0,
    doNotFake: [
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'setImmediate',
      'clearImmediate',
      'nextTick',
      'queueMicrotask',
    ],
  })
})
afterEach(() => {
  jest.useRealTimers()
})

describe.each(['iterator', 'generation'] as const)('the in-memory Map, clearBy %s', (clearBy) => {
  it('keeps an entry until the ms before its ttl and drops it at the ttl (Keyv alone keeps it 1 ms longer)', async () => {
    const keyv = new Keyv()
    const storage = keyvStorage(keyv, { prefix: 'p', clearBy })
    await storage.set('ns', 'k', 'v', { ttl: 1000 })
    at(999)
    expect((await storage.get('ns', 'k'))?.value).toBe('v')
    at(1000)
    expect(await storage.get('ns', 'k')).toBeUndefined()
    expect(await storage.delete('ns', 'k')).toBe(false)
  })

  it('honours a fractional ttl to the ms (Keyv gets it rounded up)', async () => {
    const storage = keyvStorage(new Keyv(), { prefix: 'p', clearBy })
    await storage.set('ns', 'k', 'v', { ttl: 1.5 })
    at(1)
    expect((await storage.get('ns', 'k'))?.expiresAt).toBe(T0 + 1.5)
    at(2)
    expect(await storage.get('ns', 'k')).toBeUndefined()
  })

  it("caps entries without a ttl at the Keyv's own default ttl", async () => {
    const storage = keyvStorage(new Keyv({ ttl: 60_000 }), { prefix: 'p', clearBy })
    await storage.set('ns', 'k', 'v')
    at(60_000)
    expect((await storage.get('ns', 'k'))?.expiresAt).toBeUndefined()
    at(60_001)
    expect(await storage.get('ns', 'k')).toBeUndefined()
  })
})
