// Adversarial probes of the option checks of cacheValue, cacheReference, @cached and createMemokit: each test
// here failed before the fix committed with it (see the git log of this file).
import { describe, expect, it } from '@jest/globals'
import { cached, cacheReference, cacheValue, createMemokit, memoryStorage } from '@memokit/core'
import { configError, uniqueNamespace } from './helpers'
import { replicaStorage, sharedState } from './lease-helpers'

describe('options that depend on the storage, given to @cached and createMemokit', () => {
  it("@cached takes singleFlight: 'distributed' and lease over a storage with leases, and uses the lease", async () => {
    const state = sharedState()
    const storage = replicaStorage(state)
    let runs = 0
    class Seats {
      constructor(readonly tenant: string) {}
      @cached({
        storage,
        namespace: uniqueNamespace(),
        singleFlight: 'distributed',
        lease: '20s',
        instanceKey: (self: Seats) => self.tenant,
      })
      async count(): Promise<number> {
        return ++runs
      }
    }
    const seats = new Seats('acme')
    expect(await Promise.all([seats.count(), new Seats('acme').count()])).toEqual([1, 1])
    expect(runs).toBe(1)
    expect(state.calls.acquireLease).toBeGreaterThan(0)
  })

  it("createMemokit takes singleFlight: 'distributed' and lease as defaults over a storage with leases", async () => {
    const state = sharedState()
    const mk = createMemokit({ storage: replicaStorage(state), singleFlight: 'distributed', lease: '20s' })
    const double = mk.cacheValue(async (x: number) => x * 2, { name: 'double', namespace: uniqueNamespace() })
    expect(await double(2)).toBe(4)
    expect(state.calls.acquireLease).toBe(1)
  })

  it('still refuses them where the storage takes no leases', () => {
    expect(configError(() => cached({ singleFlight: 'distributed' })).option).toBe('singleFlight')
    expect(configError(() => cached({ lease: '5s' })).option).toBe('lease')
    const sync = memoryStorage()
    expect(configError(() => createMemokit({ storage: sync, singleFlight: 'distributed' })).option).toBe('singleFlight')
    expect(configError(() => createMemokit({ storage: sync, lease: '5s' })).message).toMatch(/^createMemokit: lease/)
  })
})

describe('options nobody reads are refused', () => {
  it('an unknown circuitBreaker option is a ConfigError naming the closest one, not a silent default', () => {
    const run = () => {
      throw new Error('fn must not run')
    }
    const error = configError(() => cacheValue(run, { circuitBreaker: { failure: 3 } as never }))
    expect(error.option).toBe('circuitBreaker')
    expect(error.code).toBe('E_CONFIG')
    expect(error.message).toMatch(/unknown circuitBreaker option 'failure' \(did you mean 'failures'\?\)/)
    expect(configError(() => cacheValue(run, { circuitBreaker: { cooldown: '5s' } as never })).message).toMatch(
      /did you mean 'cooldownMs'/,
    )
    expect(configError(() => createMemokit({ circuitBreaker: { retries: 1 } as never })).option).toBe('circuitBreaker')
  })

  it("cacheReference checks a given name as cacheValue does: '' and null are not 'use fn.name'", () => {
    for (const name of ['', null, 5]) {
      const error = configError(() => cacheReference((x: number) => ({ x }), { name: name as never }))
      expect(error.option).toBe('name')
      expect(error.message).toMatch(/^cacheReference: name must be a non-empty string/)
    }
    expect(cacheReference((x: number) => ({ x }), { name: 'pool' }).keyFor(1)).toMatch(/^pool:/)
  })
})

describe('messages say how to fix', () => {
  it("a zero duration other than ttl is not told that omitting it means 'no expiry'", () => {
    const storage = replicaStorage(sharedState())
    const f = function durations() {
      return 1
    }
    for (const [option, options] of [
      ['lease', { storage, lease: 0 }],
      ['errorBackoff', { errorBackoff: '0s' }],
      ['timeout.soft', { timeout: { soft: 0 } }],
    ] as const) {
      const error = configError(() => cacheValue(f, { ...options, namespace: uniqueNamespace() } as never))
      expect(error.option).toBe(option)
      expect(error.message).not.toMatch(/no expiry/)
      expect(error.message).toMatch(/omit it for the default/)
    }
    expect(configError(() => cacheValue(f, { ttl: 0 })).message).toMatch(/omit it for no expiry/)
  })
})
