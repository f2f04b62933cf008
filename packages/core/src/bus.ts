/**
 * The invalidation bus contract: a transport that carries memokit's invalidation messages between replicas (Redis
 * pub/sub in `@memokit/redis`, `memoryBus()` in core for tests and single-process use).
 *
 * A transport moves opaque strings and says when it may be losing them; it knows nothing of caches. What the
 * strings mean (version, sender id, per-sender sequence numbers, heartbeats, keys/prefix/namespace/tags) is core's
 * protocol, shared by every transport, so a gap or a lost subscription is detected the same way on all of them.
 */

/**
 * `'up'`: the subscription is confirmed and messages published from now on will arrive. `'down'`: the transport
 * knows it may be losing messages (connection lost, resubscribing). A transport reports `'up'` again after every
 * resubscription; core then treats everything it held before as possibly stale.
 */
export type BusState = 'up' | 'down'

/** What a subscriber hears. Both are called synchronously by the transport and must not throw. */
export interface BusHandlers {
  /** One published payload, exactly as published, in the order this subscriber received them. */
  message(payload: string): void
  /** A change of the subscription's state (see {@link BusState}); the first `'up'` comes once subscribed. */
  state(state: BusState): void
}

/** A publish/subscribe transport for invalidation messages. */
export interface Bus {
  /** A short label for messages and reports, e.g. `'redis'` or `'memory'`. */
  readonly name: string
  /**
   * Sends `payload` to every subscriber of `channel`, this process's own subscribers included (core ignores its own
   * messages). Resolves once the transport accepted it; rejects on failure. Delivery is at most once. Must settle
   * within a bound (the transport's timeout): `tieredStorage` keeps the process alive while an invalidation is sent.
   */
  publish(channel: string, payload: string): Promise<void>
  /**
   * Subscribes to `channel`; resolves with an unsubscribe function once the subscription is confirmed (after the
   * first `'up'`). Rejects when the transport cannot subscribe at all. Resubscribing after a lost connection is the
   * transport's job: it reports `'down'`, then `'up'` once subscribed again. Must settle within a bound, like
   * `publish`: the first attempt keeps the process alive (`tieredStorage`'s `ready`). The transport's own
   * connections should not keep the process alive otherwise (unref them).
   */
  subscribe(channel: string, handlers: BusHandlers): Promise<() => Promise<void>>
  /** Releases the connections the bus opened itself; a client passed in by the user stays open. */
  close?(): Promise<void>
}
