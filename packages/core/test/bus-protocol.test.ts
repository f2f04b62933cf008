// Core's bus protocol (encode/decode never throws on bad input) and memoryBus, the in-process transport.
import { describe, expect, it, jest } from '@jest/globals'
import { type BusMessage, type BusState, memoryBus } from '@memokit/core'
import { BUS_PROTOCOL_VERSION, busChannelFor, decodeBusMessage, encodeBusPayload } from '../src/bus-protocol'

const encodeBusMessage = (message: BusMessage): string => encodeBusPayload(message.sender, message.seq, message)

const messages: BusMessage[] = [
  { sender: 's1', seq: 1, kind: 'heartbeat' },
  { sender: 's1', seq: 2, kind: 'keys', op: 'set', namespace: 'users', keys: ['user:[1]', 'user:["a"]'] },
  { sender: 's1', seq: 3, kind: 'keys', op: 'delete', namespace: 'ns with "quotes" and \u0000', keys: [] },
  { sender: 's2', seq: 9_007_199_254_740_991, kind: 'prefix', namespace: 'users', prefix: 'user:' },
  { sender: 's2', seq: 4, kind: 'namespace', namespace: '' },
  { sender: 's2', seq: 5, kind: 'tags', namespace: 'users', tags: ['tenant:1'] },
]

describe('bus protocol', () => {
  it('round-trips every kind of message', () => {
    for (const message of messages) expect(decodeBusMessage(encodeBusMessage(message))).toEqual(message)
  })

  it('writes the wire format replicas of other releases read: [version, sender, seq, kind, ...fields]', () => {
    // Written out by hand from the protocol (bus-protocol.ts header): replicas mid-upgrade must agree byte for byte.
    expect(messages.map(encodeBusMessage)).toEqual([
      '[1,"s1",1,"h"]',
      '[1,"s1",2,"k","users","s",["user:[1]","user:[\\"a\\"]"]]',
      '[1,"s1",3,"k","ns with \\"quotes\\" and \\u0000","d",[]]',
      '[1,"s2",9007199254740991,"p","users","user:"]',
      '[1,"s2",4,"n",""]',
      '[1,"s2",5,"t","users",["tenant:1"]]',
    ])
  })

  it('carries its version first, and reads any other version as unreadable, never throwing', () => {
    const payload = encodeBusMessage(messages[1] as BusMessage)
    expect(JSON.parse(payload)[0]).toBe(BUS_PROTOCOL_VERSION)
    const future = JSON.stringify([BUS_PROTOCOL_VERSION + 1, 's', 1, 'x', { anything: true }])
    expect(decodeBusMessage(future)).toEqual({ unreadable: 'version', version: BUS_PROTOCOL_VERSION + 1 })
  })

  it.each([
    ['not JSON', '{'],
    ['not an array', '{"v":1}'],
    ['no sender', JSON.stringify([1, 7, 1, 'h'])],
    ['a sequence below 1', JSON.stringify([1, 's', 0, 'h'])],
    ['a fractional sequence', JSON.stringify([1, 's', 1.5, 'h'])],
    ['an unknown kind', JSON.stringify([1, 's', 1, 'z', 'ns'])],
    ['keys that are not strings', JSON.stringify([1, 's', 1, 'k', 'ns', 's', [1]])],
    ['an unknown op', JSON.stringify([1, 's', 1, 'k', 'ns', 'x', []])],
    ['no namespace', JSON.stringify([1, 's', 1, 'n'])],
  ])('reads %s as malformed', (_, payload) => {
    expect(decodeBusMessage(payload)).toEqual({ unreadable: 'malformed' })
  })

  it('derives the channel from the L2 scope, so different scopes never share one', () => {
    expect(busChannelFor('redis://127.0.0.1:6379/0 memokit:')).toBe('memokit:bus:redis://127.0.0.1:6379/0 memokit:')
    expect(busChannelFor('a')).not.toBe(busChannelFor('b'))
  })
})

describe('memoryBus', () => {
  const listen = () => {
    const heard: string[] = []
    const states: BusState[] = []
    return {
      heard,
      states,
      handlers: { message: (p: string) => heard.push(p), state: (s: BusState) => states.push(s) },
    }
  }
  const delivered = () => new Promise((resolve) => setImmediate(resolve))

  it('delivers in order to every subscriber of the channel, publisher included, never inside publish', async () => {
    const bus = memoryBus()
    const one = listen()
    const two = listen()
    const elsewhere = listen()
    await bus.subscribe('c', one.handlers)
    await bus.subscribe('c', two.handlers)
    await bus.subscribe('d', elsewhere.handlers)
    expect(one.states).toEqual(['up'])
    const publishing = bus.publish('c', 'm1')
    expect(one.heard).toEqual([])
    await publishing
    await bus.publish('c', 'm2')
    await delivered()
    expect(one.heard).toEqual(['m1', 'm2'])
    expect(two.heard).toEqual(['m1', 'm2'])
    expect(elsewhere.heard).toEqual([])
  })

  it('drops on demand, goes down and up, and unsubscribes', async () => {
    const bus = memoryBus()
    const one = listen()
    const stop = await bus.subscribe('c', one.handlers)
    bus.dropNext(2)
    for (const p of ['lost1', 'lost2', 'kept']) await bus.publish('c', p)
    bus.dropAll(true)
    await bus.publish('c', 'silenced')
    bus.dropAll(false)
    bus.setState('down')
    await bus.publish('c', 'while down')
    bus.setState('up')
    await bus.publish('c', 'after')
    await delivered()
    expect(one.heard).toEqual(['kept', 'after'])
    expect(one.states).toEqual(['up', 'down', 'up'])
    expect(bus.subscribers).toBe(1)
    await stop()
    expect(bus.subscribers).toBe(0)
    await bus.publish('c', 'gone')
    await delivered()
    expect(one.heard).toEqual(['kept', 'after'])
  })

  it("delivers under jest's default fake timers, which fake queueMicrotask and setImmediate too", async () => {
    // A service's tests of its two tiers often fake every timer; delivery must not wait for them to advance.
    jest.useFakeTimers()
    try {
      const bus = memoryBus()
      const one = listen()
      await bus.subscribe('c', one.handlers)
      await bus.publish('c', 'm1')
      await bus.publish('c', 'm2')
      for (let i = 0; i < 5; i++) await Promise.resolve()
      expect(one.heard).toEqual(['m1', 'm2'])
    } finally {
      jest.useRealTimers()
    }
  })
})
