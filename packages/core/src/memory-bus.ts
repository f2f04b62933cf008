import type { Bus, BusHandlers, BusState } from './bus'
import { soon } from './soon'

/**
 * An in-process {@link Bus}: for tests, and for several tiered storages in one process. Messages are delivered in
 * publish order, each on its own microtask (never inside `publish`, as over a network), to every subscriber of the
 * channel, the publisher's own included.
 *
 * The fault hooks produce on demand what a real transport does at random, so tests can prove what a tier does then.
 */
export interface MemoryBus extends Bus {
  /**
   * Drops the next `count` published messages (default 1) for every subscriber, while the bus stays up: what
   * pub/sub does to a message published while a subscriber's connection blinks.
   */
  dropNext(count?: number): void
  /** While `true`, every published message is dropped and the bus still says it is up (a silent subscriber). */
  dropAll(on: boolean): void
  /**
   * `'down'`: subscribers hear `'down'`, and messages published until `'up'` are lost. `'up'`: subscribers hear
   * `'up'` again, as after a resubscription.
   */
  setState(state: BusState): void
  /** The number of live subscriptions, all channels together. */
  readonly subscribers: number
}

/**
 * Creates an in-process invalidation bus (see {@link MemoryBus}). Publishing never fails; subscribing hears `'up'`
 * at once (or `'down'` while the bus is set down).
 *
 * @example
 * const bus = memoryBus()
 * const tier = tieredStorage({ l1: memoryStorage({ maxEntries: 1000 }), l2, bus })
 */
export function memoryBus(): MemoryBus {
  const channels = new Map<string, Set<BusHandlers>>()
  let toDrop = 0
  let droppingAll = false
  let state: BusState = 'up'
  let count = 0
  const everyone = (): BusHandlers[] => [...channels.values()].flatMap((set) => [...set])
  const safely = (run: () => void): void => {
    try {
      run()
    } catch {
      // The contract says handlers never throw; one that does must not stop delivery to the others.
    }
  }
  return {
    name: 'memory',
    publish(channel, payload) {
      if (state === 'down' || droppingAll) return Promise.resolve()
      if (toDrop > 0) {
        toDrop--
        return Promise.resolve()
      }
      const receivers = [...(channels.get(channel) ?? [])]
      soon(() => {
        for (const handlers of receivers) safely(() => handlers.message(payload))
      })
      return Promise.resolve()
    },
    subscribe(channel, handlers) {
      let set = channels.get(channel)
      if (set === undefined) {
        set = new Set()
        channels.set(channel, set)
      }
      set.add(handlers)
      count++
      safely(() => handlers.state(state))
      let subscribed = true
      return Promise.resolve(async () => {
        if (!subscribed) return
        subscribed = false
        count--
        set.delete(handlers)
        if (set.size === 0) channels.delete(channel)
      })
    },
    dropNext(n = 1) {
      toDrop += n
    },
    dropAll(on) {
      droppingAll = on
    },
    setState(next) {
      if (next === state) return
      state = next
      for (const handlers of everyone()) safely(() => handlers.state(next))
    },
    get subscribers() {
      return count
    },
  }
}
