// `.refresh()` over a storage with leases (lease.ts, flow.ts refreshNow): it runs fn whatever the storage holds, and
// stores the result only through the key's lease, so an invalidation that completes while its fn runs keeps the
// result out, as it does for a miss. Replicas are simulated in one process (lease-helpers.ts).
import { describe, expect, it } from '@jest/globals'
import { cacheValue, TimeoutError } from '@memokit/core'
import { uniqueNamespace } from './helpers'
import { leaseOf, replicaStorage, type SharedState, sharedState, sleep } from './lease-helpers'

/** A source each run of which waits for the test to finish it; results name the run and the version. */
function gatedSource() {
  const runs: { id: number; finish: (version: string) => void }[] = []
  const fn = (id: number) =>
    new Promise<string>((resolve) => {
      const run = runs.length + 1
      runs.push({ id, finish: (version) => resolve(`user ${id} ${version} (run ${run})`) })
    })
  return { fn, runs }
}

function replicas(state: SharedState, fn: (id: number) => Promise<string>, options: object) {
  const namespace = uniqueNamespace('refresh')
  const make = (i: number) =>
    cacheValue(fn, { storage: replicaStorage(state, `replica-${i}`), namespace, name: 'load', ttl: '1m', ...options })
  const [a, b, c] = [make(0), make(1), make(2)]
  const stored = async (id: number) => (await state.entries.get(namespace, a.keyFor(id)))?.value
  return { a, b, c, stored, lease: (id: number) => leaseOf(state, namespace, a.keyFor(id)) }
}

const until = async (check: () => boolean, ms = 2_000): Promise<void> => {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(2)
  }
}

describe('.refresh() over a storage with leases', () => {
  it("with singleFlight: 'distributed', runs fn and stores its result, though the storage holds a fresh value", async () => {
    const storage = replicaStorage(sharedState())
    let version = 1
    const cached = cacheValue(async (id: number) => `user ${id} v${version}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'refreshDistributed',
      singleFlight: 'distributed',
    })
    expect(await cached(1)).toBe('user 1 v1')
    version = 2
    expect(await cached.refresh(1)).toBe('user 1 v2')
    expect(await cached(1)).toBe('user 1 v2')
  })

  for (const mode of ['process', 'distributed'] as const) {
    it(`waits for another replica's lease, then runs fn; a delete while that fn runs keeps its result out (${mode})`, async () => {
      const state = sharedState()
      const { fn, runs } = gatedSource()
      const { a, b, c, stored } = replicas(state, fn, { singleFlight: mode })
      const miss = a(1)
      await until(() => runs.length === 1)
      const refreshed = b.refresh(1)
      await sleep(60)
      // A holds the lease: the refresh has not run fn (unfenced, it would have).
      expect(runs).toHaveLength(1)
      runs[0]?.finish('old')
      expect(await miss).toBe('user 1 old (run 1)')
      await until(() => runs.length === 2)
      await c.delete(1)
      runs[1]?.finish('new')
      expect(await refreshed).toBe('user 1 new (run 2)')
      // Without the lease, the refresh's write landed after the delete had completed.
      expect(await stored(1)).toBeUndefined()
    })
  }

  it("stores through the lease once it has it: the holder's older value is replaced", async () => {
    const state = sharedState()
    const { fn, runs } = gatedSource()
    const { a, b, stored, lease } = replicas(state, fn, {})
    const miss = a(2)
    await until(() => runs.length === 1)
    const refreshed = b.refresh(2)
    await sleep(30)
    runs[0]?.finish('old')
    await miss
    await until(() => runs.length === 2)
    runs[1]?.finish('new')
    expect(await refreshed).toBe('user 2 new (run 2)')
    expect(await stored(2)).toBe('user 2 new (run 2)')
    expect(lease(2)).toBeUndefined()
  })

  it("takes the lease of this process's own computation at once: its result is never stored, so it is not waited for", async () => {
    const state = sharedState()
    const { fn, runs } = gatedSource()
    const { a, stored } = replicas(state, fn, { singleFlight: 'distributed' })
    const miss = a(3)
    await until(() => runs.length === 1)
    const refreshed = a.refresh(3)
    await until(() => runs.length === 2, 500)
    runs[1]?.finish('new')
    expect(await refreshed).toBe('user 3 new (run 2)')
    runs[0]?.finish('old')
    expect(await miss).toBe('user 3 old (run 1)')
    expect(await stored(3)).toBe('user 3 new (run 2)')
  })

  it("after waitTimeout runs fn without storing it, or throws with onLeaseTimeout: 'throw'", async () => {
    const state = sharedState()
    const { fn, runs } = gatedSource()
    const computing = replicas(state, fn, { singleFlight: 'distributed', waitTimeout: 80 })
    const miss = computing.a(4)
    await until(() => runs.length === 1)
    const refreshed = computing.b.refresh(4)
    await until(() => runs.length === 2)
    runs[1]?.finish('unstored')
    expect(await refreshed).toBe('user 4 unstored (run 2)')
    runs[0]?.finish('held')
    await miss
    expect(await computing.stored(4)).toBe('user 4 held (run 1)')

    const throwing = replicas(state, fn, { singleFlight: 'distributed', waitTimeout: 80, onLeaseTimeout: 'throw' })
    const held = throwing.a(5)
    await until(() => runs.length === 3)
    const error = await throwing.b.refresh(5).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).lease).toBe(true)
    expect(runs).toHaveLength(3)
    runs[2]?.finish('held')
    await held
  })
})
