// A burst of writes shares its bus messages: the 'keys' invalidations one replica issues in one microtask turn go
// out as one message per namespace and op (tiered-sequence.ts), published before any other kind of message, flushed
// by settled() and close(), and capped in size. What the other replicas then do with them is unchanged.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { type Bus, memoryBus, memoryStorage, tieredStorage } from '@memokit/core'
import { type BusMessage, decodeBusMessage } from '../src/bus-protocol'
import { createPublisher } from '../src/tiered-sequence'
import { replica, settle, testL2, uniqueNs, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

/** A bus that records what is published and, while `gated`, holds each publish until `release()`. */
function recordingBus() {
  const payloads: string[] = []
  let waiting: (() => void)[] = []
  const bus: Bus & { gated: boolean; release(): void } = {
    name: 'recording',
    gated: false,
    publish(_channel, payload) {
      payloads.push(payload)
      return bus.gated ? new Promise<void>((resolve) => waiting.push(resolve)) : Promise.resolve()
    },
    subscribe: () => Promise.reject(new Error('not used')),
    release() {
      const now = waiting
      waiting = []
      for (const resolve of now) resolve()
    },
  }
  const messages = (): BusMessage[] => payloads.map((p) => decodeBusMessage(p) as BusMessage)
  return { bus, payloads, messages }
}

const noHold = <T>(work: Promise<T>): Promise<T> => work
const keys = (ns: string, op: 'set' | 'delete', list: string[]) => ({ kind: 'keys', op, namespace: ns, keys: list })

describe('the publisher merges one turn of key invalidations', () => {
  it('sends the keys of one namespace and op issued in one turn as one message, in issue order', async () => {
    const { bus, messages } = recordingBus()
    const publisher = createPublisher(bus, 'c', 's', () => {}, noHold)
    for (const key of ['a', 'b', 'c']) publisher.send({ kind: 'keys', op: 'set', namespace: 'n', keys: [key] })
    publisher.send({ kind: 'keys', op: 'delete', namespace: 'n', keys: ['d'] })
    publisher.send({ kind: 'keys', op: 'set', namespace: 'm', keys: ['e'] })
    publisher.send({ kind: 'keys', op: 'set', namespace: 'n', keys: ['f'] })
    expect(messages()).toEqual([])
    await Promise.resolve()
    expect(messages()).toEqual([
      { sender: 's', seq: 1, ...keys('n', 'set', ['a', 'b', 'c', 'f']) },
      { sender: 's', seq: 2, ...keys('n', 'delete', ['d']) },
      { sender: 's', seq: 3, ...keys('m', 'set', ['e']) },
    ])
    // The next turn starts a new message, numbered on.
    publisher.send({ kind: 'keys', op: 'set', namespace: 'n', keys: ['g'] })
    await Promise.resolve()
    expect(messages()[3]).toEqual({ sender: 's', seq: 4, ...keys('n', 'set', ['g']) })
  })

  it('publishes waiting keys before a message of another kind, so a clear is heard after the writes before it', () => {
    const { bus, messages } = recordingBus()
    const publisher = createPublisher(bus, 'c', 's', () => {}, noHold)
    publisher.send({ kind: 'keys', op: 'set', namespace: 'n', keys: ['a'] })
    publisher.send({ kind: 'keys', op: 'delete', namespace: 'n', keys: ['b'] })
    publisher.send({ kind: 'namespace', namespace: 'n' })
    publisher.send({ kind: 'keys', op: 'set', namespace: 'n', keys: ['c'] })
    publisher.send({ kind: 'heartbeat' })
    expect(messages().map((m) => [m.seq, m.kind, 'keys' in m ? m.keys : undefined])).toEqual([
      [1, 'keys', ['a']],
      [2, 'keys', ['b']],
      [3, 'namespace', undefined],
      [4, 'keys', ['c']],
      [5, 'heartbeat', undefined],
    ])
  })

  it('caps a message at 256 keys, or about 32 KiB of keys, publishing at once what is full', async () => {
    const { bus, messages } = recordingBus()
    const publisher = createPublisher(bus, 'c', 's', () => {}, noHold)
    for (let i = 0; i < 600; i++) publisher.send({ kind: 'keys', op: 'set', namespace: 'n', keys: [`k${i}`] })
    expect(messages().map((m) => (m.kind === 'keys' ? m.keys.length : 0))).toEqual([256, 256])
    await Promise.resolve()
    const sent = messages().flatMap((m) => (m.kind === 'keys' ? m.keys : []))
    expect(messages().map((m) => m.seq)).toEqual([1, 2, 3])
    expect(sent).toEqual(Array.from({ length: 600 }, (_, i) => `k${i}`))

    const big = 'x'.repeat(12_000)
    for (let i = 0; i < 4; i++) publisher.send({ kind: 'keys', op: 'set', namespace: 'n', keys: [`${i}${big}`] })
    await Promise.resolve()
    // 3 keys reach 36,000 characters: that message goes, the fourth key starts the next.
    expect(
      messages()
        .slice(3)
        .map((m) => (m.kind === 'keys' ? m.keys.length : 0)),
    ).toEqual([3, 1])
  })

  it('settled() publishes what waits and settles once those publishes have', async () => {
    const { bus, payloads } = recordingBus()
    bus.gated = true
    const failed: unknown[] = []
    const publisher = createPublisher(bus, 'c', 's', (e) => failed.push(e), noHold)
    publisher.send({ kind: 'keys', op: 'set', namespace: 'n', keys: ['a'] })
    let done = false
    const settling = publisher.settled().then(() => {
      done = true
    })
    expect(payloads).toHaveLength(1)
    await settle()
    expect(done).toBe(false)
    bus.release()
    await settling
    expect(done).toBe(true)
    // The turn's own flush finds nothing left: the keys were published once.
    await settle()
    expect(payloads).toHaveLength(1)
    expect(failed).toEqual([])
  })

  it('holds the process for the merged publish, and reports its failure once', async () => {
    const held: Promise<unknown>[] = []
    const failed: unknown[] = []
    const bus: Bus = {
      name: 'failing',
      publish: () => Promise.reject(new Error('refused')),
      subscribe: () => Promise.reject(new Error('not used')),
    }
    const publisher = createPublisher(
      bus,
      'c',
      's',
      (e) => failed.push(e),
      (work) => {
        held.push(work)
        return work
      },
    )
    for (const key of ['a', 'b']) publisher.send({ kind: 'keys', op: 'set', namespace: 'n', keys: [key] })
    await Promise.resolve()
    expect(held).toHaveLength(1)
    await publisher.settled()
    expect(failed).toEqual([new Error('refused')])
  })
})

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
