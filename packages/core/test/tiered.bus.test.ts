import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { type Bus, memoryBus, memoryStorage, type TieredEvent, tieredStorage } from '@memokit/core'
import {
  advance,
  type Cluster,
  cluster,
  type Replica,
  replica,
  settle,
  testL2,
  uniqueNs,
  useFakeClock,
} from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

const pair = (c: Cluster): [Replica, Replica] => [c.replicas[0] as Replica, c.replicas[1] as Replica]
const keysMessage = (e: TieredEvent): boolean => e.type === 'received' && e.message.kind !== 'heartbeat'
const flushes = (r: Replica): string[] => r.events.flatMap((e) => (e.type === 'flush' ? [e.reason] : []))

describe('tieredStorage on a bus: propagation', () => {
  it('drops the L1 copy on every other replica when one writes, deletes or clears', async () => {
    const c = await cluster(3)
    const [a, b] = pair(c)
    const d = c.replicas[2] as Replica
    const ns = uniqueNs()
    await a.tier.set(ns, 'f:[1]', 1)
    await a.tier.set(ns, 'g:[1]', 'g')
    for (const r of [b, d]) expect((await r.tier.get(ns, 'f:[1]'))?.value).toBe(1)
    for (const r of [b, d]) expect((await r.tier.get(ns, 'g:[1]'))?.value).toBe('g')

    let heard = Promise.all([b, d].map((r) => r.next(keysMessage)))
    await a.tier.set(ns, 'f:[1]', 2)
    await heard
    for (const r of [b, d]) expect((await r.tier.get(ns, 'f:[1]'))?.value).toBe(2)

    heard = Promise.all([b, d].map((r) => r.next(keysMessage)))
    await a.tier.delete(ns, 'f:[1]')
    await heard
    for (const r of [b, d]) expect(await r.tier.get(ns, 'f:[1]')).toBeUndefined()

    // A function clear (prefix) drops only that function's entries; a namespace clear drops the rest.
    await a.tier.set(ns, 'f:[3]', 3)
    for (const r of [b, d]) await r.tier.get(ns, 'f:[3]')
    await c.l2.storage.set(ns, 'g:[1]', 'changed under the tiers')
    heard = Promise.all([b, d].map((r) => r.next(keysMessage)))
    await a.tier.clear(ns, 'f:')
    await heard
    const gets = c.l2.calls.get
    for (const r of [b, d]) expect((await r.tier.get(ns, 'g:[1]'))?.value).toBe('g')
    expect(c.l2.calls.get).toBe(gets)
    for (const r of [b, d]) expect(await r.tier.get(ns, 'f:[3]')).toBeUndefined()

    heard = Promise.all([b, d].map((r) => r.next(keysMessage)))
    await a.tier.clear(ns)
    await heard
    for (const r of [b, d]) expect(await r.tier.get(ns, 'g:[1]')).toBeUndefined()
    await c.close()
  })

  it('ignores its own messages: a write keeps its own L1 copy after its message comes back', async () => {
    const c = await cluster(2)
    const [a] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    await settle()
    await advance(2000)
    const gets = c.l2.calls.get
    expect((await a.tier.get(ns, 'k'))?.value).toBe(1)
    expect(c.l2.calls.get).toBe(gets)
    // What a replica hears from itself is only its heartbeats.
    const own = a.events.filter((e) => e.type === 'received' && e.message.kind !== 'heartbeat')
    expect(own).toEqual([])
    await c.close()
  })

  it("a promotion that raced another replica's write does not bring back the old value", async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    c.l2.pauseReads = true
    const reading = b.tier.get(ns, 'k')
    await settle()
    const heard = b.next(keysMessage)
    await a.tier.set(ns, 'k', 2)
    await heard
    c.l2.pauseReads = false
    c.l2.releaseReads()
    expect((await reading)?.value).toBe(1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    await c.close()
  })
})

describe('tieredStorage on a bus: faults', () => {
  it('serves an L1 copy no longer than maxL1Age when the bus drops every message', async () => {
    const c = await cluster(2, { maxL1Age: 10_000, heartbeat: 60_000 })
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    c.bus.dropAll(true)
    await a.tier.set(ns, 'k', 2)
    await advance(9_999, 1_111)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    await advance(1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    c.bus.dropAll(false)
    await c.close()
  })

  it('without a bus, an L1 copy lives 5 s by default', async () => {
    const l2 = testL2()
    const a = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const b = tieredStorage({ l1: memoryStorage(), l2: l2.storage })
    const ns = uniqueNs()
    await a.set(ns, 'k', 1)
    expect((await b.get(ns, 'k'))?.value).toBe(1)
    await a.set(ns, 'k', 2)
    await advance(4_999, 1_000)
    expect((await b.get(ns, 'k'))?.value).toBe(1)
    await advance(1)
    expect((await b.get(ns, 'k'))?.value).toBe(2)
  })

  it('never serves an L1 copy past its staleAt (the L2 answers then)', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1, { ttl: 60_000, meta: { staleAt: Date.now() + 2_000 } })
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    const gets = c.l2.calls.get
    await advance(1_999, 1_000)
    await b.tier.get(ns, 'k')
    expect(c.l2.calls.get).toBe(gets)
    await advance(1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    expect(c.l2.calls.get).toBe(gets + 1)
    await c.close()
  })

  it('drops every L1 entry when a message was lost while the bus stayed up (a sequence gap)', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    c.bus.dropNext()
    await a.tier.set(ns, 'k', 2)
    await settle()
    // The lost message: B can't know yet, and still serves its copy.
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    const flushed = b.next((e) => e.type === 'flush')
    await a.tier.set(ns, 'other', 'x')
    expect(await flushed).toEqual({ type: 'flush', reason: 'gap' })
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    await c.close()
  })

  it('bypasses the L1 while the bus is down, and drops what it held when the bus is up again', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    c.bus.setState('down')
    expect(b.tier.l1Active).toBe(false)
    expect(b.events).toContainEqual({ type: 'state', state: 'down', cause: 'transport' })
    await a.tier.set(ns, 'k', 2)
    const gets = c.l2.calls.get
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    expect(c.l2.calls.get).toBe(gets + 2)
    await a.tier.set(ns, 'k', 3)
    c.bus.setState('up')
    expect(b.tier.l1Active).toBe(true)
    expect(flushes(b)).toContain('up')
    expect((await b.tier.get(ns, 'k'))?.value).toBe(3)
    await c.close()
  })

  it('treats the bus as down when its own heartbeats stop coming back, and flushes when they return', async () => {
    const c = await cluster(2, { heartbeat: 1000, heartbeatTimeout: 3000 })
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    c.bus.dropAll(true)
    await advance(4_000)
    expect(b.tier.l1Active).toBe(false)
    expect(b.events).toContainEqual({ type: 'state', state: 'down', cause: 'heartbeat' })
    await a.tier.set(ns, 'k', 2)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    c.bus.dropAll(false)
    await advance(1_000)
    expect(b.tier.l1Active).toBe(true)
    expect(b.events).toContainEqual({ type: 'state', state: 'up', cause: 'heartbeat' })
    expect(flushes(b)).toContain('heartbeat')
    await c.close()
  })

  it('a failed L2 delete, clear or set still updates L1 and publishes (each may have landed)', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    await b.tier.get(ns, 'k')
    c.l2.failing.add('delete')
    const heard = b.next(keysMessage)
    await expect(a.tier.delete(ns, 'k')).rejects.toThrow('connection lost during delete')
    await heard
    let gets = c.l2.calls.get
    await b.tier.get(ns, 'k')
    await a.tier.get(ns, 'k')
    expect(c.l2.calls.get).toBe(gets + 2)

    c.l2.failing.add('clear')
    const cleared = b.next(keysMessage)
    await expect(a.tier.clear(ns)).rejects.toThrow('connection lost during clear')
    expect(await cleared).toMatchObject({ message: { kind: 'namespace', namespace: ns } })

    c.l2.failing.add('set')
    const setHeard = b.next(keysMessage)
    await expect(a.tier.set(ns, 'k', 2)).rejects.toThrow('connection lost during set')
    expect(await setHeard).toMatchObject({ message: { kind: 'keys', op: 'set', namespace: ns, keys: ['k'] } })
    gets = c.l2.calls.get
    expect((await a.tier.get(ns, 'k'))?.value).toBe(1)
    expect(c.l2.calls.get).toBe(gets + 1)
    await c.close()
  })

  it('a set whose reply is lost after it landed reaches the other replicas: none serves its old copy', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    c.l2.lost.add('set')
    await expect(a.tier.set(ns, 'k', 2)).rejects.toThrow('reply lost after set')
    await settle()
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    expect((await a.tier.get(ns, 'k'))?.value).toBe(2)
    await c.close()
  })
})

describe('tieredStorage on a bus: protocol and lifecycle', () => {
  it('ignores and reports a message of another protocol version or no message at all', async () => {
    const c = await cluster(0)
    const probe = replica({ l2: c.l2.storage, bus: c.bus, channel: 'probe' })
    await probe.tier.ready
    const version = probe.next((e) => e.type === 'unreadable')
    await c.bus.publish('probe', JSON.stringify([2, 'sender', 1, 'h']))
    expect(await version).toMatchObject({ type: 'unreadable', reason: 'version' })
    const malformed = probe.next((e) => e.type === 'unreadable')
    await c.bus.publish('probe', '{not json')
    expect(await malformed).toMatchObject({ type: 'unreadable', reason: 'malformed', payload: '{not json' })
    expect(probe.tier.l1Active).toBe(true)
    await probe.tier.close()
  })

  it('drops its L1 when it first hears a sender in mid-sequence, or a tags message, but not for a sender at seq 1', async () => {
    const c = await cluster(0)
    const r = replica({ l2: c.l2.storage, bus: c.bus, channel: 'seq' })
    await r.tier.ready
    const ns = uniqueNs()
    const held = async () => {
      await r.tier.set(ns, 'k', 1)
      const gets = c.l2.calls.get
      await r.tier.get(ns, 'k')
      return c.l2.calls.get === gets
    }
    const hear = async (payload: unknown[]) => {
      const received = r.next((e) => e.type === 'received')
      await c.bus.publish('seq', JSON.stringify(payload))
      await received
    }
    expect(await held()).toBe(true)
    await hear([1, 'fresh', 1, 'h'])
    // The one flush so far is the subscription's own 'up'.
    expect(flushes(r)).toEqual(['up'])
    expect(await held()).toBe(true)
    await hear([1, 'old-timer', 41, 'h'])
    expect(flushes(r)).toEqual(['up', 'new-sender'])
    await r.tier.set(ns, 'k', 1)
    await hear([1, 'old-timer', 42, 't', ns, ['tenant:1']])
    expect(flushes(r)).toEqual(['up', 'new-sender', 'tags'])
    const gets = c.l2.calls.get
    await r.tier.get(ns, 'k')
    expect(c.l2.calls.get).toBe(gets + 1)
    await r.tier.close()
  })

  it('warns (rate-limited) about unreadable messages when no onEvent is given', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const c = await cluster(0)
    const tier = tieredStorage({ l1: memoryStorage(), l2: c.l2.storage, bus: c.bus, channel: 'warned' })
    await tier.ready
    await c.bus.publish('warned', JSON.stringify([9, 's', 1, 'h']))
    await c.bus.publish('warned', JSON.stringify([9, 's', 2, 'h']))
    await settle()
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/another protocol version/)
    warn.mockRestore()
    await tier.close()
  })

  it('reports a failed subscription, bypasses its L1, and subscribes again at the next heartbeat', async () => {
    const inner = memoryBus()
    let refusals = 1
    const bus: Bus = {
      name: 'flaky',
      publish: (channel, payload) => inner.publish(channel, payload),
      subscribe: (channel, handlers) =>
        refusals-- > 0 ? Promise.reject(new Error('no subscription')) : inner.subscribe(channel, handlers),
    }
    const r = replica({ l2: testL2().storage, bus, channel: 'flaky', heartbeat: 1000 })
    await r.tier.ready
    expect(r.events).toContainEqual({ type: 'subscribe-failed', error: new Error('no subscription') })
    expect(r.tier.l1Active).toBe(false)
    await advance(1000)
    expect(r.tier.l1Active).toBe(true)
    expect(inner.subscribers).toBe(1)
    await r.tier.close()
  })

  it('a failed publish is reported, never thrown, and the receivers detect it as a gap', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    await b.tier.get(ns, 'k')
    const publish = c.bus.publish
    c.bus.publish = () => Promise.reject(new Error('publish refused'))
    await a.tier.set(ns, 'k', 2)
    await settle()
    expect(a.events).toContainEqual({ type: 'publish-failed', error: new Error('publish refused') })
    c.bus.publish = publish
    const flushed = b.next((e) => e.type === 'flush')
    await advance(1000)
    expect(await flushed).toEqual({ type: 'flush', reason: 'gap' })
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    await c.close()
  })

  it('close() stops the heartbeat and unsubscribes', async () => {
    const timers = jest.getTimerCount()
    const c = await cluster(2)
    expect(c.bus.subscribers).toBe(2)
    expect(jest.getTimerCount()).toBe(timers + 2)
    await c.close()
    expect(c.bus.subscribers).toBe(0)
    expect(jest.getTimerCount()).toBe(timers)
  })
})
