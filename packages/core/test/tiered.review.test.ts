// Races of the L1 with L2 operations and bus messages that the other tiered tests leave out: an L2 that may answer
// a read issued during a write or delete with what it held before (a connection pool), a read racing a remote
// clear, and a read racing the flush of a bus that came back up; and what a promotion keeps (the L2 entry's expiry,
// never an older copy over a newer one). Each test fails when the guard it names is removed from tiered-l1.ts or
// tiered.ts.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, type Entry, memoryStorage, tieredStorage } from '@memokit/core'
import { advance, type Cluster, cluster, type Replica, settle, uniqueNs, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

const pair = (c: Cluster): [Replica, Replica] => [c.replicas[0] as Replica, c.replicas[1] as Replica]
const gate = () => {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

/**
 * An L2 whose next `get` takes its answer at once and delivers it when the test says, and whose next `set` or
 * `delete` applies when the test says: a pool where a read issued after a write can be served before it.
 */
function pooledL2(createdAtSkew = 0) {
  const inner = memoryStorage()
  const readHolds: Promise<void>[] = []
  const write = gate()
  const removal = gate()
  let holdWrite = false
  let holdDelete = false
  // Another replica's clock may run ahead: the entries it wrote carry later createdAts.
  const skewed = (entry: Entry | undefined): Entry | undefined =>
    entry === undefined ? undefined : { ...entry, createdAt: entry.createdAt + createdAtSkew }
  const storage: AsyncStorage = {
    async: true,
    name: 'pooled',
    async get(ns, key) {
      const found = skewed(inner.get(ns, key))
      const held = readHolds.shift()
      if (held !== undefined) await held
      return found
    },
    async set(ns, key, value, o) {
      if (holdWrite) {
        holdWrite = false
        await write.opened
      }
      inner.set(ns, key, value, o)
    },
    async delete(ns, key) {
      if (holdDelete) {
        holdDelete = false
        await removal.opened
      }
      return inner.delete(ns, key)
    },
    clear: async (ns, prefix) => inner.clear(ns, prefix),
  }
  return {
    storage,
    inner,
    /** Holds the next read (after it took its answer) until the returned function is called. */
    holdNextRead: (): (() => void) => {
      const held = gate()
      readHolds.push(held.opened)
      return held.open
    },
    holdNextWrite: () => {
      holdWrite = true
    },
    holdNextDelete: () => {
      holdDelete = true
    },
    releaseWrite: write.open,
    releaseDelete: removal.open,
  }
}

describe('tieredStorage: a read that overlaps a local write or delete', () => {
  it.each([
    ['written in the same millisecond', 0],
    ['written by a replica whose clock runs ahead', 5_000],
  ])('does not promote what the L2 held before the write (old value %s)', async (_, skew) => {
    const l2 = pooledL2(skew)
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    l2.inner.set(ns, 'k', 'old')
    l2.holdNextWrite()
    const writing = tier.set(ns, 'k', 'new')
    await settle()
    // Issued while the write runs; the pool answers it first, with the value from before the write.
    const releaseRead = l2.holdNextRead()
    const reading = tier.get(ns, 'k')
    await settle()
    l2.releaseWrite()
    await writing
    releaseRead()
    expect((await reading)?.value).toBe('old')
    expect(l2.inner.get(ns, 'k')?.value).toBe('new')
    // The set resolved before this read: it must see the new value, from L1 or L2.
    expect((await tier.get(ns, 'k'))?.value).toBe('new')
    await advance(1000)
    expect((await tier.get(ns, 'k'))?.value).toBe('new')
  })

  it.each([
    ['after', true],
    ['before', false],
  ])("a read issued during this replica's delete, answered %s it ends, leaves no copy", async (_, lateAnswer) => {
    const l2 = pooledL2()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    l2.inner.set(ns, 'k', 'old')
    l2.holdNextDelete()
    const deleting = tier.delete(ns, 'k')
    await settle()
    // Issued after the delete; the pool answers it first, with the value from before the delete.
    const releaseRead = l2.holdNextRead()
    const reading = tier.get(ns, 'k')
    await settle()
    if (!lateAnswer) {
      releaseRead()
      expect((await reading)?.value).toBe('old')
    }
    l2.releaseDelete()
    expect(await deleting).toBe(true)
    releaseRead()
    expect((await reading)?.value).toBe('old')
    expect(await tier.get(ns, 'k')).toBeUndefined()
  })
})

describe('tieredStorage on a bus: reads racing broad invalidations', () => {
  it.each([
    ['a namespace clear', (tier: Replica['tier'], ns: string) => tier.clear(ns)],
    ['a function clear', (tier: Replica['tier'], ns: string) => tier.clear(ns, 'f:')],
  ])("a read under way when %s arrives from another replica doesn't promote the old value", async (_, clear) => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'f:[1]', 'old')
    c.l2.pauseReads = true
    const reading = b.tier.get(ns, 'f:[1]')
    await settle()
    const heard = b.next((e) => e.type === 'received' && e.message.kind !== 'heartbeat')
    await clear(a.tier, ns)
    await heard
    c.l2.pauseReads = false
    c.l2.releaseReads()
    expect((await reading)?.value).toBe('old')
    expect(await b.tier.get(ns, 'f:[1]')).toBeUndefined()
    await c.close()
  })

  it("a read under way when the bus went down and came back (a delete lost meanwhile) doesn't promote", async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 'old')
    c.l2.pauseReads = true
    const reading = b.tier.get(ns, 'k')
    await settle()
    c.bus.setState('down')
    await a.tier.delete(ns, 'k')
    c.bus.setState('up')
    c.l2.pauseReads = false
    c.l2.releaseReads()
    expect((await reading)?.value).toBe('old')
    expect(await b.tier.get(ns, 'k')).toBeUndefined()
    await c.close()
  })
})

describe('tieredStorage: what a promotion keeps', () => {
  it("ends the L1 copy at the L2 entry's expiry when that comes before staleAt and maxL1Age", async () => {
    const l2 = pooledL2()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage, maxL1Age: 60_000 })
    const ns = uniqueNs()
    l2.inner.set(ns, 'k', 'short-lived', { ttl: 2_000 })
    expect((await tier.get(ns, 'k'))?.value).toBe('short-lived')
    await advance(1_999, 1_000)
    expect((await tier.get(ns, 'k'))?.value).toBe('short-lived')
    await advance(1)
    expect(await tier.get(ns, 'k')).toBeUndefined()
  })

  // No bus in both: another replica's write reaches this one only through reads, and a late read must not undo a
  // newer one this replica has already served.
  it('never replaces a newer L1 copy with an older one', async () => {
    const l2 = pooledL2()
    const other = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    l2.inner.set(ns, 'k', 'v1')
    const releaseOld = l2.holdNextRead()
    const late = tier.get(ns, 'k')
    await settle()
    await advance(10)
    await other.set(ns, 'k', 'v2')
    expect((await tier.get(ns, 'k'))?.value).toBe('v2')
    releaseOld()
    expect((await late)?.value).toBe('v1')
    expect((await tier.get(ns, 'k'))?.value).toBe('v2')
  })

  it('drops an older L1 copy when a newer entry arrives already past its bound', async () => {
    const l2 = pooledL2()
    const other = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    l2.inner.set(ns, 'k', 'v1')
    const releaseOld = l2.holdNextRead()
    const old = tier.get(ns, 'k')
    await settle()
    await advance(10)
    await other.set(ns, 'k', 'v2', { meta: { staleAt: Date.now() + 20 } })
    const releaseNew = l2.holdNextRead()
    const fresh = tier.get(ns, 'k')
    await settle()
    releaseOld()
    expect((await old)?.value).toBe('v1')
    await advance(30)
    releaseNew()
    expect((await fresh)?.value).toBe('v2')
    // v2 is stale now: the L2 answers (and serves it stale), never the older v1 copy.
    expect((await tier.get(ns, 'k'))?.value).toBe('v2')
  })
})
