// Tiers whose key invalidations share bus messages (tiered-sequence.ts): a burst reaches the other replica as one
// message, each message leaves before the write that caused it resolves, and close() publishes what still waits.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { type Bus, memoryBus, memoryStorage, tieredStorage } from '@memokit/core'
import { type BusMessage, decodeBusMessage } from '../src/bus-protocol'
import { replica, settle, testL2, uniqueNs, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

const keys = (ns: string, op: 'set' | 'delete', list: string[]) => ({ kind: 'keys', op, namespace: ns, keys: list })

describe('tiers on a bus with merged messages', () => {
  it('a burst of writes reaches the other replica as one message, and its L1 drops every key', async () => {
    const bus = memoryBus()
    const l2 = testL2()
    const channel = uniqueNs()
    const [a, b] = [0, 1].map(() => replica({ l2: l2.storage, bus, channel }))
    const heard: string[] = []
    await bus.subscribe(channel, { message: (p) => heard.push(p), state() {} })
    if (a === undefined || b === undefined) throw new Error('two replicas')
    await Promise.all([a.tier.ready, b.tier.ready])
    await settle()
    const ns = uniqueNs()
    const written = Array.from({ length: 16 }, (_, i) => `f:[${i}]`)
    await Promise.all(written.map((key) => a.tier.set(ns, key, 1)))
    for (const key of written) expect((await b.tier.get(ns, key))?.value).toBe(1)
    heard.length = 0
    await Promise.all(written.map((key) => a.tier.set(ns, key, 2)))
    await settle()
    const invalidations = heard.map((p) => decodeBusMessage(p) as BusMessage).filter((m) => m.kind === 'keys')
    expect(invalidations).toEqual([
      { sender: expect.any(String), seq: expect.any(Number), ...keys(ns, 'set', written) },
    ])
    const gets = l2.calls.get
    for (const key of written) expect((await b.tier.get(ns, key))?.value).toBe(2)
    expect(l2.calls.get).toBe(gets + written.length)
    await Promise.all([a.tier.close(), b.tier.close()])
  })

  it('hands the message to the bus before the set or delete that caused it resolves', async () => {
    const bus = memoryBus()
    const published: string[] = []
    const counting: Bus = {
      name: 'counting',
      subscribe: (c, handlers) => bus.subscribe(c, handlers),
      publish: (c, payload) => {
        published.push(payload)
        return bus.publish(c, payload)
      },
    }
    const a = tieredStorage({ l1: memoryStorage(), l2: testL2().storage, bus: counting, channel: uniqueNs() })
    await a.ready
    const keysSent = () => published.filter((p) => p.includes('"k"')).length
    await a.set('n', 'k', 1)
    expect(keysSent()).toBe(1)
    await a.delete('n', 'k')
    expect(keysSent()).toBe(2)
    await a.close()
  })

  it('close() publishes the keys still waiting for their turn to end, waits for that publish, drops what follows', async () => {
    const bus = memoryBus()
    const l2 = testL2()
    const channel = uniqueNs()
    // A publishes through a gate for its key messages, so close() can be seen waiting for one.
    let gated = false
    let gate: (() => void)[] = []
    const aBus: Bus = {
      name: 'gated',
      subscribe: (c, handlers) => bus.subscribe(c, handlers),
      publish: (c, payload) =>
        gated && payload.includes('"k"')
          ? new Promise<void>((resolve) => gate.push(resolve)).then(() => bus.publish(c, payload))
          : bus.publish(c, payload),
    }
    // The L1 of A calls `onDrop` on each delete of its own: the second delete's final drop runs in the same turn
    // as the first delete's publish, before the turn's flush, so close() is called while that message waits.
    const l1 = memoryStorage({ maxEntries: 100 })
    let onDrop: ((key: string) => void) | undefined
    const drop = l1.delete.bind(l1)
    l1.delete = (namespace, key) => {
      onDrop?.(key)
      return drop(namespace, key)
    }
    const a = tieredStorage({ l1, l2: l2.storage, bus: aBus, channel })
    const b = replica({ l2: l2.storage, bus, channel })
    const heard: BusMessage[] = []
    await bus.subscribe(channel, { message: (p) => heard.push(decodeBusMessage(p) as BusMessage), state() {} })
    await Promise.all([a.ready, b.tier.ready])
    const ns = uniqueNs()
    await Promise.all([a.set(ns, 'k1', 1), a.set(ns, 'k2', 1)])
    expect((await b.tier.get(ns, 'k1'))?.value).toBe(1)
    heard.length = 0
    gated = true
    let closing: Promise<void> | undefined
    // Each delete drops its key before the L2 delete (done by now) and after it: k2's second drop is the hook.
    const deleting = [a.delete(ns, 'k1'), a.delete(ns, 'k2')]
    onDrop = (key) => {
      if (key === 'k2' && closing === undefined) closing = a.close()
    }
    await Promise.all(deleting)
    let closed = false
    void closing?.then(() => {
      closed = true
    })
    await settle()
    expect(gate).toHaveLength(1)
    expect(closed).toBe(false)
    const open = gate
    gate = []
    for (const resolve of open) resolve()
    await closing
    await settle()
    // k1's message waited for the turn to end when close() came: published, and awaited. k2's came after: dropped,
    // as any invalidation issued after close() always was.
    expect(heard.filter((m) => m.kind === 'keys')).toEqual([
      { sender: expect.any(String), seq: expect.any(Number), ...keys(ns, 'delete', ['k1']) },
    ])
    expect(await b.tier.get(ns, 'k1')).toBeUndefined()
    await b.tier.close()
  })
})
