// A burst of writes shares its bus messages: the 'keys' invalidations one replica issues in one microtask turn go
// out as one message per namespace and op (tiered-sequence.ts), published before any other kind of message, flushed
// by settled(), and capped in size. The tiers' side: tiered.batch.tiers.test.ts.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import type { Bus } from '@memokit/core'
import { type BusMessage, decodeBusMessage } from '../src/bus-protocol'
import { createPublisher } from '../src/tiered-sequence'
import { settle, useFakeClock } from './tiered-helpers'

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
