// The client-specific half of redisBus: how each client kind subscribes on its own connection, publishes, and
// tells that its subscriber connection went away or came back. bus.ts holds the state machine over these.

import { closeQuietly, connector, giveUpReconnecting } from './bus-connect'
import type { ResolvedBusOptions } from './bus-options'
import type { IoredisCompatibleClient, OwnedClient, RedisCompatibleClient } from './client'
import { adaptIoredis } from './ioredis'
import { locate } from './locate'
import { createOwnedClient } from './owned-client'

/** A message listener on one channel; `message` is the raw string as published. */
export type RawListener = (message: string) => void

/** What the subscriber connection reports; both may fire repeatedly. */
export interface LinkEvents {
  /** The subscriber connection errored, closed or is reconnecting: messages may be lost from now on. */
  down(): void
  /** The subscriber connection is ready again (its resubscription is not confirmed yet). */
  ready(): void
}

/** One client kind behind one shape. */
export interface BusLink {
  /** Where the bus connects, for messages (a Sentinel's master of the moment); never credentials. */
  where(): string
  /**
   * Starts connecting the subscriber (and a publisher the bus owns) unless connected or connecting; resolves once the
   * subscriber is connected. Called by every subscribe: a subscriber from `url` may have closed since (see revive).
   */
  open(): Promise<void>
  /** Subscribes `listener` to `channel` on the subscriber connection; resolves once Redis confirmed it. */
  listen(channel: string, listener: RawListener): Promise<void>
  /** Removes `listener`; unsubscribes the channel when it was the last one. */
  unlisten(channel: string, listener: RawListener): Promise<void>
  /** `PUBLISH`, or `SPUBLISH` on a cluster. */
  publish(channel: string, message: string): Promise<unknown>
  /**
   * Connects the subscriber again if its reconnect strategy gave up: from `url` that is every loss (the bus's
   * probes are its reconnect loop); your client's duplicate only until its first connect succeeded (then it
   * reconnects by your client's strategy).
   */
  revive(): void
  /** Closes the connections the bus opened; the user's client stays open. */
  close(): Promise<void>
}

// Subscriber events that mean messages may be lost, over node-redis (client, Sentinel, cluster) and ioredis. An
// event a client never emits costs nothing; an extra 'down' costs core one L1 flush, a missed one costs staleness.
const DOWN_EVENTS = [
  'error',
  'end',
  'reconnecting',
  'close',
  'disconnect',
  'node-error',
  'node-reconnecting',
  'node-disconnect',
  'client-error',
  'node error',
  'nodeError',
  '-node',
  '-subscriber',
]
const READY_EVENTS = ['ready', 'node-ready', '+subscriber', 'subscribersReady']

interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown
}

function watch(emitter: Emitter, events: LinkEvents): void {
  const down = (): void => events.down()
  const ready = (): void => events.ready()
  for (const name of DOWN_EVENTS) emitter.on(name, down)
  for (const name of READY_EVENTS) emitter.on(name, ready)
}

const asText = (message: unknown): string => (typeof message === 'string' ? message : String(message))

// The node-redis members the bus calls: a client, a Sentinel client, or a cluster (sharded pub/sub).
interface NodeRedisPubSub extends Emitter {
  readonly isOpen: boolean
  /** Connected and usable; `false` while it reconnects (commands would wait in its offline queue). */
  readonly isReady?: boolean
  connect(): Promise<unknown>
  duplicate(overrides?: object): NodeRedisPubSub
  publish(channel: string, message: string): Promise<unknown>
  sPublish(channel: string, message: string): Promise<unknown>
  subscribe(channel: string, listener: (message: unknown) => void): Promise<unknown>
  sSubscribe(channel: string, listener: (message: unknown) => void): Promise<unknown>
  unsubscribe(channel: string, listener: (message: unknown) => void): Promise<unknown>
  sUnsubscribe(channel: string, listener: (message: unknown) => void): Promise<unknown>
  close?(): Promise<unknown>
  destroy?(): unknown
  unref?(): unknown
}

function nodeRedisLink(options: ResolvedBusOptions, events: LinkEvents): BusLink {
  const sharded = options.kind === 'node-redis-cluster'
  let publisher: NodeRedisPubSub
  let ownsPublisher = false
  if (options.url !== undefined) {
    // Both connections (the subscriber is its duplicate) give up on every loss and the bus connects them again on
    // unref'd timers: node-redis' reconnect waits would hold the process while the server is unreachable.
    const owned: OwnedClient = createOwnedClient(options.url, options.operationTimeoutMs, giveUpReconnecting)
    owned.on('error', () => {})
    owned.unref()
    publisher = owned as unknown as NodeRedisPubSub
    ownsPublisher = true
  } else {
    publisher = options.client as NodeRedisPubSub
  }
  // A cluster duplicate that connects only the nodes it subscribes on, not every master.
  const subscriber = sharded ? publisher.duplicate({ minimizeConnections: true }) : publisher.duplicate()
  watch(subscriber, events)
  subscriber.unref?.()
  // Your client's duplicate reconnects by your client's strategy, as your client does: the bus leaves that alone.
  const openSubscriber = connector(subscriber, ownsPublisher)
  const openPublisher = connector(publisher, ownsPublisher)
  const { where } = locate(publisher as unknown as RedisCompatibleClient)
  const listeners = new Map<RawListener, (message: unknown) => void>()
  return {
    where,
    open: () => {
      openPublisher().catch(() => {})
      return openSubscriber()
    },
    listen: (channel, listener) => {
      const wrapped = (message: unknown): void => listener(asText(message))
      listeners.set(listener, wrapped)
      return (sharded ? subscriber.sSubscribe(channel, wrapped) : subscriber.subscribe(channel, wrapped)).then(() => {})
    },
    unlisten: async (channel, listener) => {
      const wrapped = listeners.get(listener)
      if (wrapped === undefined) return
      listeners.delete(listener)
      // Also while disconnected: node-redis drops the listener at once, or it would resubscribe it on reconnect.
      await (sharded ? subscriber.sUnsubscribe(channel, wrapped) : subscriber.unsubscribe(channel, wrapped))
    },
    publish: async (channel, message) => {
      await openPublisher()
      // Not into your client's offline queue: a message is worth nothing late (receivers see the gap and drop
      // their L1s), and a queued command holds your client's close() until it leaves the queue.
      if (publisher.isReady === false) throw new Error('The client is offline')
      return sharded ? publisher.sPublish(channel, message) : publisher.publish(channel, message)
    },
    revive: () => {
      if (!subscriber.isOpen) openSubscriber().catch(() => {})
    },
    close: async () => {
      // Your client, if the bus started connecting it: that connect ends first, so that your close() closes it.
      if (!ownsPublisher) await openPublisher.settled()
      await Promise.all([closeQuietly(subscriber), ownsPublisher ? closeQuietly(publisher) : undefined])
    },
  }
}

// The ioredis members the bus calls, on a `Redis` (plain pub/sub) or a `Cluster` (sharded); messages arrive as
// 'message' / 'smessage' events carrying their channel.
interface IoredisPubSub extends Emitter {
  readonly status: string
  connect(): Promise<void>
  duplicate(...overrides: unknown[]): IoredisPubSub
  publish(channel: string, message: string): Promise<unknown>
  spublish(channel: string, message: string): Promise<unknown>
  subscribe(channel: string): Promise<unknown>
  ssubscribe(channel: string): Promise<unknown>
  unsubscribe(channel: string): Promise<unknown>
  sunsubscribe(channel: string): Promise<unknown>
  disconnect(): void
}

function ioredisLink(options: ResolvedBusOptions, events: LinkEvents): BusLink {
  const publisher = options.client as IoredisPubSub
  const sharded = options.kind === 'ioredis-cluster'
  // Its own settings where the user's would break a subscriber: resubscribe after reconnect, queue the
  // (re)subscription while connecting; a cluster's shard subscribers (one per master, resubscribed by ioredis).
  const subscriber = sharded
    ? publisher.duplicate([], { shardedSubscribers: true, lazyConnect: true })
    : publisher.duplicate({ autoResubscribe: true, enableOfflineQueue: true, lazyConnect: true })
  watch(subscriber, events)
  const byChannel = new Map<string, Set<RawListener>>()
  subscriber.on(sharded ? 'smessage' : 'message', (channel, message) => {
    for (const listener of byChannel.get(asText(channel)) ?? []) listener(asText(message))
  })
  const { where } = adaptIoredis(publisher as unknown as IoredisCompatibleClient).location
  const wake = (client: IoredisPubSub): void => {
    // `wait`: lazyConnect not connected yet; `end`: its retryStrategy gave up or it was disconnected.
    if (client.status === 'wait' || client.status === 'end') client.connect().catch(() => {})
  }
  return {
    where,
    open: async () => {
      wake(publisher)
      wake(subscriber)
    },
    listen: async (channel, listener) => {
      let set = byChannel.get(channel)
      if (set === undefined) {
        set = new Set()
        byChannel.set(channel, set)
      }
      set.add(listener)
      await (sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel))
    },
    unlisten: async (channel, listener) => {
      const set = byChannel.get(channel)
      if (set === undefined || !set.delete(listener) || set.size > 0) return
      byChannel.delete(channel)
      if (subscriber.status !== 'ready') return
      await (sharded ? subscriber.sunsubscribe(channel) : subscriber.unsubscribe(channel))
    },
    publish: (channel, message) =>
      sharded ? publisher.spublish(channel, message) : publisher.publish(channel, message),
    revive: () => wake(subscriber),
    // A subscriber has nothing in flight worth a graceful QUIT, and a cluster's QUIT can outlive the bus' close.
    close: async () => subscriber.disconnect(),
  }
}

/** The link for the client kind `options` names. */
export function createLink(options: ResolvedBusOptions, events: LinkEvents): BusLink {
  return options.kind === 'ioredis' || options.kind === 'ioredis-cluster'
    ? ioredisLink(options, events)
    : nodeRedisLink(options, events)
}
