import { type Bus, type BusHandlers, ConfigError, StorageError } from '@memokit/core'
import { describeValue, messageOf } from '@memokit/core/backend'
import { type BusLink, createLink } from './bus-links'
import { type RedisBusOptions, resolveBusOptions } from './bus-options'
import { createSubscription, MESSAGE, type Subscription } from './bus-subscription'

export type { RedisBusOptions } from './bus-options'

const NAME = 'redis-bus'

/**
 * Races `work` with a timer; a failure or the timeout becomes a StorageError naming the operation and server.
 * `hold`: the timer keeps the process alive meanwhile (the bus's sockets don't), for what the user awaits itself.
 */
function bounded<T>(link: BusLink, timeoutMs: number, op: string, work: Promise<T>, hold = false): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(failure(link, `${op} timed out after ${timeoutMs} ms (operationTimeoutMs)`))
    }, timeoutMs)
    if (!hold) timer.unref()
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error instanceof StorageError ? error : failure(link, `${op} failed: ${messageOf(error)}`, error))
      },
    )
  })
}

// StorageOp has no 'publish' or 'subscribe': a bus failure is a connection failure.
function failure(link: BusLink, what: string, cause?: unknown): StorageError {
  const message = `${NAME} ${what.replace(/^(\w+)/, `$1 on ${link.where()}`)}`
  return new StorageError(message, { storage: NAME, op: 'connect' }, cause === undefined ? undefined : { cause })
}

/** The bus's `subscribe`: one {@link Subscription} per call in `subscriptions`, confirmed within `timeoutMs`. */
function subscriber(
  link: BusLink,
  timeoutMs: number,
  subscriptions: Set<Subscription>,
  isClosed: () => boolean,
): (channel: string, handlers: BusHandlers) => Promise<() => Promise<void>> {
  const probe = (channel: string, message: string): void => {
    link.publish(channel, message).catch(() => {})
  }
  const revive = (): void => link.revive()

  return async (channel: string, handlers: BusHandlers): Promise<() => Promise<void>> => {
    if (isClosed()) throw failure(link, 'subscribe after close(): this bus is closed')
    if (typeof channel !== 'string' || channel === '') {
      throw new ConfigError(
        'channel',
        `redisBus: subscribe needs a non-empty channel name, got ${describeValue(channel)}`,
      )
    }
    const sub = createSubscription(channel, handlers, probe, revive)
    subscriptions.add(sub)
    const unsubscribe = async (): Promise<void> => {
      if (sub.stopped) return
      sub.stop()
      subscriptions.delete(sub)
      await bounded(link, timeoutMs, 'unsubscribe', link.unlisten(channel, sub.listener)).catch(() => {})
    }
    const confirm = async (): Promise<void> => {
      // Every time, not once: a subscriber from `url` closes on every loss, and may have no subscription probing.
      await link.open()
      // Timed out (and unsubscribed) while connecting: don't subscribe a listener nobody will remove.
      if (sub.stopped) return
      const epoch = sub.epoch
      await link.listen(channel, sub.listener)
      // Confirmed on a connection that hasn't dropped since: up. Otherwise a probe must prove it.
      if (sub.epoch === epoch) sub.confirm()
      else sub.ready()
      await sub.confirmed
    }
    try {
      // Raced with the confirmation, which a close() rejects: a subscribe still connecting ends with the bus.
      await bounded(link, timeoutMs, 'subscribe', Promise.race([confirm(), sub.confirmed]))
    } catch (error) {
      await unsubscribe()
      throw error
    }
    return unsubscribe
  }
}

/** The bus {@link redisBus} returns: a {@link Bus} whose `close` is always there. */
export interface RedisBus extends Bus {
  /**
   * Unsubscribes and closes the connections the bus opened itself (its subscriber, and from `url` its publisher);
   * a client you passed in stays open. Later publishes and subscriptions reject. Idempotent.
   */
  close(): Promise<void>
}

/**
 * An invalidation {@link Bus} over Redis pub/sub for `tieredStorage` (from `@memokit/core`): `PUBLISH`/`SUBSCRIBE`
 * on a standalone or Sentinel server, sharded `SPUBLISH`/`SSUBSCRIBE` on a cluster (a channel lives on one shard).
 * It subscribes on a connection of its own (a `duplicate()` of your client, or one it opens from `url`) and
 * publishes through your client (or a second connection of its own). It reports `'down'` as soon as its subscriber
 * connection errors, closes or reconnects, and `'up'` once a probe it published after the loss came back through
 * the resubscribed channel. Connection errors never reach callers; `publish` rejects with a StorageError when
 * Redis doesn't accept the message within `operationTimeoutMs`. Options are checked before anything connects.
 *
 * @example
 * const bus = redisBus({ client: createClient({ url: 'redis://127.0.0.1:6379' }) })
 * const bus = redisBus({ url: 'redis://127.0.0.1:6379' })
 */
export function redisBus(options: RedisBusOptions): RedisBus {
  const resolved = resolveBusOptions(options)
  const timeoutMs = resolved.operationTimeoutMs
  const subscriptions = new Set<Subscription>()
  const link: BusLink = createLink(resolved, {
    down: () => {
      for (const sub of subscriptions) sub.down()
    },
    ready: () => {
      for (const sub of subscriptions) sub.ready()
    },
  })
  let closed = false
  const subscribe = subscriber(link, timeoutMs, subscriptions, () => closed)

  return {
    name: 'redis',
    publish(channel, payload) {
      if (closed) return Promise.reject(failure(link, 'publish after close(): this bus is closed'))
      return bounded(link, timeoutMs, 'publish', link.publish(channel, MESSAGE + payload)).then(() => {})
    },
    subscribe,
    async close() {
      if (closed) return
      closed = true
      for (const sub of subscriptions) sub.stop()
      subscriptions.clear()
      await bounded(link, timeoutMs, 'close', link.close(), true).catch(() => {})
    },
  }
}
