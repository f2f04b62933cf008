// A bus transport's connections don't keep the process alive (redisBus unrefs them), so the tier itself keeps it
// alive while work a caller awaits or caused is under way: the first subscription (`ready`), an invalidation being
// published, and close(). Heartbeats, its own background work, never do. Checked through the handles that keep
// Node's event loop alive (process.getActiveResourcesInfo), on real timers; the redis package runs the same claims
// as scripts on a real server (lifecycle.test.ts).
import { describe, expect, it } from '@jest/globals'
import { type Bus, memoryBus, memoryStorage, tieredStorage } from '@memokit/core'
import { testL2, uniqueNs } from './tiered-helpers'

/** The ref'd timers now: what keeps the event loop alive, jest's own included (compared before and after). */
// Node 17+; missing from the @types/node this repo pins.
const { getActiveResourcesInfo } = process as unknown as { getActiveResourcesInfo(): string[] }
const refTimers = () => getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length

interface Gate {
  /** Lets what waits now through. */
  open(): void
  /** Lets everything through from now on (before close(), which waits for every publish issued). */
  remove(): void
  readonly pending: number
}

/** A memoryBus whose subscribe and chosen publishes wait for `gate.open()`, as a slow network would. */
function gatedBus(holdPublish: (payload: string) => boolean): { bus: Bus; gate: Gate } {
  const inner = memoryBus()
  let waiting: (() => void)[] = []
  let removed = false
  const later = <T>(work: () => Promise<T>): Promise<T> =>
    removed ? work() : new Promise<void>((resolve) => waiting.push(resolve)).then(work)
  const gate: Gate = {
    open() {
      const now = waiting
      waiting = []
      for (const resolve of now) resolve()
    },
    remove() {
      removed = true
      gate.open()
    },
    get pending() {
      return waiting.length
    },
  }
  const bus: Bus = {
    name: 'gated',
    subscribe: (channel, handlers) => later(() => inner.subscribe(channel, handlers)),
    publish: (channel, payload) =>
      holdPublish(payload) ? later(() => inner.publish(channel, payload)) : inner.publish(channel, payload),
  }
  return { bus, gate }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('tieredStorage keeps the process alive only for the work it was asked for', () => {
  it('while its first subscription (`ready`) is pending', async () => {
    const before = refTimers()
    const { bus, gate } = gatedBus(() => false)
    const tier = tieredStorage({ l1: memoryStorage(), l2: testL2().storage, bus, channel: 'keep-alive' })
    expect(refTimers()).toBe(before + 1)
    gate.open()
    await tier.ready
    await settle()
    expect(refTimers()).toBe(before)
    await tier.close()
  })

  it("while a write's invalidation is being published, not while a heartbeat is", async () => {
    // Heartbeats ('h' kind) wait at the gate too, but must not hold the process.
    const { bus, gate } = gatedBus((payload) => payload.includes('"k"') || payload.includes('"h"'))
    const tier = tieredStorage({ l1: memoryStorage(), l2: testL2().storage, bus, channel: 'keep-alive', heartbeat: 20 })
    gate.open()
    await tier.ready
    await settle()
    const before = refTimers()
    // A heartbeat or two now wait at the gate: nothing held.
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(gate.pending).toBeGreaterThan(0)
    expect(refTimers()).toBe(before)
    gate.open()
    await settle()

    await tier.set(uniqueNs(), 'k', 1)
    expect(refTimers()).toBe(before + 1)
    gate.open()
    await settle()
    await settle()
    expect(refTimers()).toBe(before)
    gate.remove()
    await tier.close()
  })

  it('while close() waits for the publishes still under way', async () => {
    const { bus, gate } = gatedBus((payload) => payload.includes('"k"'))
    const tier = tieredStorage({ l1: memoryStorage(), l2: testL2().storage, bus, channel: 'keep-alive' })
    gate.open()
    await tier.ready
    await settle()
    const before = refTimers()
    await tier.set(uniqueNs(), 'k', 1)
    let closed = false
    const closing = tier.close().then(() => {
      closed = true
    })
    await settle()
    expect(closed).toBe(false)
    expect(refTimers()).toBeGreaterThan(before)
    gate.open()
    await closing
    await settle()
    expect(refTimers()).toBe(before)
  })
})

describe('tieredStorage closed while its first subscription is under way', () => {
  it('reports nothing when that subscription then fails', async () => {
    let fail: (error: Error) => void = () => {}
    const bus: Bus = {
      name: 'failing',
      subscribe: () =>
        new Promise((_, reject) => {
          fail = reject
        }),
      publish: async () => {},
    }
    const events: string[] = []
    const tier = tieredStorage({
      l1: memoryStorage(),
      l2: testL2().storage,
      bus,
      channel: 'keep-alive',
      onEvent: (event) => events.push(event.type),
    })
    await tier.close()
    fail(new Error('the bus closed'))
    await tier.ready
    await settle()
    expect(events).not.toContain('subscribe-failed')
  })
})
