// Adversarial review of tags over tieredStorage replicas (own L1s, one L2, one memoryBus): tag tokens are ordinary
// entries held in each L1, so every promise of docs/tags.md must survive a token copy in an L1: an invalidation on
// one replica while another computes, token reads racing the invalidation, swr and refreshAhead never serving an
// invalidated entry, staleIfError still serving it, and tokens evicted from a small L1.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { cacheValue, invalidateTags, memoryStorage, type TieredEvent, tieredStorage } from '@memokit/core'
import { advance, type Cluster, cluster, type Replica, settle, testL2, uniqueNs, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

const pair = (c: Cluster): [Replica, Replica] => [c.replicas[0] as Replica, c.replicas[1] as Replica]
const invalidation = (e: TieredEvent): boolean => e.type === 'received' && e.message.kind !== 'heartbeat'

function origin() {
  const state = { version: 1, runs: 0, fail: false, gate: undefined as Promise<void> | undefined }
  const fn = async (id: number) => {
    state.runs++
    const version = state.version
    if (state.gate !== undefined) await state.gate
    if (state.fail) throw new Error('origin down')
    return `v${version}:${id}`
  }
  return { state, fn }
}

const tagged = (options: Record<string, unknown> = {}) => ({
  name: 'user',
  ttl: 60_000,
  tags: (id: number) => [`user:${id}`],
  ...options,
})

describe('tags over tiered replicas', () => {
  it("an invalidation on A reaches B's L1: B recomputes, though it holds the entry and the old token", async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    const o = origin()
    const onA = cacheValue(o.fn, { storage: a.tier, namespace: ns, ...tagged() })
    const onB = cacheValue(o.fn, { storage: b.tier, namespace: ns, ...tagged() })
    expect(await onA(1)).toBe('v1:1')
    expect(await onB(1)).toBe('v1:1')
    expect(await onB(1)).toBe('v1:1')
    expect(o.state.runs).toBe(1)
    o.state.version = 2
    const heard = b.next(invalidation)
    await invalidateTags(a.tier, ['user:1'])
    await heard
    expect(await onB(1)).toBe('v2:1')
    expect(await onA(1)).toBe('v2:1')
    await c.close()
  })

  it('an invalidation on A while B computes makes B recompute on its next call', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    const o = origin()
    const onB = cacheValue(o.fn, { storage: b.tier, namespace: ns, ...tagged() })
    // B's token is in its L1 already (a first call created it).
    expect(await onB(2)).toBe('v1:2')
    await onB.delete(2)
    let open: () => void = () => {}
    o.state.gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const computing = onB(2)
    await settle()
    expect(o.state.runs).toBe(2)
    const heard = b.next(invalidation)
    await invalidateTags(a.tier, ['user:2'])
    await heard
    o.state.version = 2
    o.state.gate = undefined
    open()
    expect(await computing).toBe('v1:2')
    expect(await onB(2)).toBe('v2:2')
    await c.close()
  })

  it("a token read from L2 racing A's invalidation: B's entry is invalid on its next read", async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    const o = origin()
    const onA = cacheValue(o.fn, { storage: a.tier, namespace: ns, ...tagged() })
    const onB = cacheValue(o.fn, { storage: b.tier, namespace: ns, ...tagged() })
    expect(await onA(3)).toBe('v1:3')
    // B reads the entry and its token from L2; the token read takes its (old) answer, then waits.
    c.l2.pauseReads = true
    const reading = onB(3)
    await settle()
    const heard = b.next(invalidation)
    o.state.version = 2
    await invalidateTags(a.tier, ['user:3'])
    await heard
    c.l2.pauseReads = false
    c.l2.releaseReads()
    await settle()
    c.l2.releaseReads()
    // Whatever this read returned (it began before the invalidation), the next one must not be the old value.
    await reading
    expect(await onB(3)).toBe('v2:3')
    await c.close()
  })

  it('swr and refreshAhead never serve an entry invalidated on another replica; staleIfError still does', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    const o = origin()
    const options = tagged({ ttl: 10_000, swr: 60_000, staleIfError: 60_000, refreshAhead: 0.5, onError() {} })
    const onB = cacheValue(o.fn, { storage: b.tier, namespace: ns, ...options })
    expect(await onB(4)).toBe('v1:4')
    expect(await onB(5)).toBe('v1:5')
    await advance(6_000)
    // Past refreshAt for both, and, 5 s later, past staleAt (inside swr).
    let heard = b.next(invalidation)
    o.state.version = 2
    await invalidateTags(a.tier, ['user:4'])
    await heard
    expect(await onB(4)).toBe('v2:4')
    await advance(5_000)
    heard = b.next(invalidation)
    o.state.version = 3
    await invalidateTags(a.tier, ['user:5'])
    await heard
    expect(await onB(5)).toBe('v3:5')
    // staleIfError: invalidated, and the recomputation fails: the invalidated value is served.
    heard = b.next(invalidation)
    o.state.fail = true
    await invalidateTags(a.tier, ['user:5'])
    await heard
    expect(await onB(5)).toBe('v3:5')
    o.state.fail = false
    o.state.version = 4
    // After errorBackoff (documented: the stale value without running fn meanwhile).
    expect(await onB(5)).toBe('v3:5')
    await advance(10_001)
    expect(await onB(5)).toBe('v4:5')
    await c.close()
  })

  it('tokens evicted from a tiny L1 (and the L1 flushed) still invalidate', async () => {
    const l2 = testL2()
    const ns = uniqueNs()
    const o = origin()
    const tier = tieredStorage({ l1: memoryStorage({ maxEntries: 2 }), l2: l2.storage })
    const other = tieredStorage({ l1: memoryStorage({ maxEntries: 2 }), l2: l2.storage })
    const onTier = cacheValue(o.fn, { storage: tier, namespace: ns, ...tagged() })
    for (let id = 0; id < 5; id++) expect(await onTier(id)).toBe(`v1:${id}`)
    o.state.version = 2
    // Through the other tier (no bus here): this one learns of it only by reading the token from L2.
    await invalidateTags(other, ['user:0', 'user:4'])
    // user:4's token may still be in this tier's L1 (it was read last): for up to maxL1Age (5 s without a bus).
    await advance(5_001)
    for (let id = 0; id < 5; id++) expect(await onTier(id)).toBe(id === 0 || id === 4 ? `v2:${id}` : `v1:${id}`)
  })
})
