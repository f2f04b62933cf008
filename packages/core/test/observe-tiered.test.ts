// A tier's bus events on memokit:event: up/down (transport or heartbeat), gaps, L1 drops and bus failures, in step
// with what onEvent hears; nothing per received message.
import diagnostics from 'node:diagnostics_channel'
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { CHANNELS, type EventMessage, type TieredEvent } from '@memokit/core'
import { advance, type Cluster, cluster, type Replica, settle, uniqueNs, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

let seen: EventMessage[] = []
const listener = (message: unknown): void => {
  seen.push(message as EventMessage)
}
const subscribe = (): void => {
  seen = []
  diagnostics.subscribe(CHANNELS.event, listener)
}
afterEach(() => {
  diagnostics.unsubscribe(CHANNELS.event, listener)
})

const pair = (c: Cluster): [Replica, Replica] => [c.replicas[0] as Replica, c.replicas[1] as Replica]
const busEvent = (type: EventMessage['type'], reason?: string): EventMessage => ({
  type,
  storage: 'tiered(test-l2)',
  namespace: undefined,
  functionName: undefined,
  key: undefined,
  ...(reason === undefined ? {} : { reason }),
})

/** What memokit:event should carry for the onEvent events of every replica (in the order they happened). */
function expected(events: TieredEvent[]): EventMessage[] {
  return events.flatMap((e): EventMessage[] => {
    if (e.type === 'state') return [busEvent(e.state === 'up' ? 'bus-up' : 'bus-down', e.cause)]
    if (e.type === 'flush')
      return e.reason === 'gap'
        ? [busEvent('bus-gap', 'gap'), busEvent('bus-dropped', 'gap')]
        : [busEvent('bus-dropped', e.reason)]
    return []
  })
}

/** Runs `scenario` with a subscriber; returns the onEvent events of every replica that happened meanwhile. */
async function observed(c: Cluster, scenario: () => Promise<void>): Promise<TieredEvent[]> {
  const before = c.replicas.map((r) => r.events.length)
  subscribe()
  await scenario()
  // Replicas' logs are separate, so their interleaving is lost: callers compare as multisets.
  return c.replicas.flatMap((r, i) => r.events.slice(before[i]))
}

const sorted = (messages: EventMessage[]): string[] => messages.map((m) => JSON.stringify(m)).sort()

describe('memokit:event from a tieredStorage', () => {
  it('publishes bus-down when the transport goes down, and bus-dropped (up) and bus-up when it returns', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    const events = await observed(c, async () => {
      c.bus.setState('down')
      await a.tier.set(ns, 'k', 2)
      c.bus.setState('up')
      await settle()
    })
    expect(seen.slice(0, 2)).toEqual([busEvent('bus-down', 'transport'), busEvent('bus-down', 'transport')])
    expect(seen).toContainEqual(busEvent('bus-dropped', 'up'))
    expect(seen).toContainEqual(busEvent('bus-up', 'transport'))
    // Per replica: the L1 is dropped before it is used again.
    const upAt = seen.findIndex((m) => m.type === 'bus-up')
    expect(seen.findIndex((m) => m.type === 'bus-dropped' && m.reason === 'up')).toBeLessThan(upAt)
    expect(sorted(seen)).toEqual(sorted(expected(events)))
    expect(seen.filter((m) => m.type === 'bus-down')).toHaveLength(2)
    expect(seen.filter((m) => m.type === 'bus-up')).toHaveLength(2)
    await c.close()
  })

  it('publishes bus-gap then bus-dropped (gap) on a replica that missed a message, and nothing per message', async () => {
    const c = await cluster(2)
    const [a, b] = pair(c)
    const ns = uniqueNs()
    await a.tier.set(ns, 'k', 1)
    expect((await b.tier.get(ns, 'k'))?.value).toBe(1)
    const events = await observed(c, async () => {
      await a.tier.set(ns, 'k', 1.5)
      await settle()
      // Delivered messages are not events.
      expect(seen).toEqual([])
      c.bus.dropNext()
      await a.tier.set(ns, 'k', 2)
      await settle()
      const flushed = b.next((e) => e.type === 'flush')
      await a.tier.set(ns, 'other', 'x')
      await flushed
    })
    const gap = seen.findIndex((m) => m.type === 'bus-gap')
    expect(gap).toBeGreaterThanOrEqual(0)
    expect(seen[gap]).toEqual(busEvent('bus-gap', 'gap'))
    expect(seen[gap + 1]).toEqual(busEvent('bus-dropped', 'gap'))
    expect(seen.every((m) => m.type === 'bus-gap' || m.type === 'bus-dropped')).toBe(true)
    expect(sorted(seen)).toEqual(sorted(expected(events)))
    expect((await b.tier.get(ns, 'k'))?.value).toBe(2)
    await c.close()
  })

  it('publishes bus-down (heartbeat) when its own heartbeats stop, and bus-dropped/bus-up (heartbeat) when they return', async () => {
    const c = await cluster(1, { heartbeat: 1000, heartbeatTimeout: 3000 })
    const events = await observed(c, async () => {
      c.bus.dropAll(true)
      await advance(4_000)
      expect(seen).toEqual([busEvent('bus-down', 'heartbeat')])
      c.bus.dropAll(false)
      await advance(1_000)
    })
    // The dropped heartbeats also left a sequence gap: that is a flush of its own.
    expect(seen).toContainEqual(busEvent('bus-dropped', 'heartbeat'))
    expect(seen.at(-1)).toEqual(busEvent('bus-up', 'heartbeat'))
    expect(sorted(seen)).toEqual(sorted(expected(events)))
    await c.close()
  })

  it('publishes bus-unreadable with its reason, and bus-publish-failed with the error', async () => {
    const c = await cluster(1)
    const [r] = c.replicas as [Replica]
    const failure = new Error('publish refused')
    const events = await observed(c, async () => {
      const publish = c.bus.publish.bind(c.bus)
      // The tier's own publish, its payload swapped for one that is no memokit message.
      c.bus.publish = (ch: string, _payload: string) => publish(ch, 'not a memokit message')
      await r.tier.set(uniqueNs(), 'k', 1)
      await settle()
      c.bus.publish = () => Promise.reject(failure)
      await r.tier.set(uniqueNs(), 'k', 2)
      await settle()
      c.bus.publish = publish
    })
    expect(seen).toContainEqual(busEvent('bus-unreadable', 'malformed'))
    expect(seen).toContainEqual({ ...busEvent('bus-publish-failed'), error: failure })
    expect(events.some((e) => e.type === 'unreadable')).toBe(true)
    expect(events.some((e) => e.type === 'publish-failed')).toBe(true)
    await c.close()
  })

  it('still calls onEvent, and publishes nothing once the subscriber is gone', async () => {
    const c = await cluster(1)
    const [r] = c.replicas as [Replica]
    subscribe()
    diagnostics.unsubscribe(CHANNELS.event, listener)
    const before = r.events.length
    c.bus.setState('down')
    c.bus.setState('up')
    await settle()
    expect(seen).toEqual([])
    expect(
      r.events
        .slice(before)
        .map((e) => e.type)
        .filter((t) => t !== 'received'),
    ).toEqual(['state', 'flush', 'state'])
    await c.close()
  })
})
