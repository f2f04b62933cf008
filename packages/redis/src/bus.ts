import { randomBytes } from 'node:crypto'
import { type Bus, type BusHandlers, ConfigError, StorageError } from '@memokit/core'
import { describeValue, messageOf } from '@memokit/core/backend'
import { type BusLink, createLink, type RawListener } from './bus-links'
import { type RedisBusOptions, resolveBusOptions } from './bus-options'

export type { RedisBusOptions } from './bus-options'

const NAME = 'redis-bus'
// Every payload on the wire starts with one letter: 'm' a published message, 'p' a probe (see below). Anything
// else on the channel isn't ours and is ignored.
const MESSAGE = 'm'
const PROBE = 'p'
// Probes after a loss: first soon, then backing off to one a second until one comes back.
const FIRST_PROBE_MS = 50
const MAX_PROBE_MS = 1000

/**
 * One subscription's state. Client libraries report a lost connection reliably but differ on when a resubscription
 * is confirmed (node-redis says 'ready' after it, ioredis before it, a cluster says nothing per channel), so 'up'
 * after a loss is proven end to end, the same way on every client: the bus publishes a probe naming this
 * subscription and the current loss, and reports 'up' when that probe comes back through the subscription.
 */
interface Subscription {
  readonly listener: RawListener
  /** Counts the losses; a probe names the one it answers, so a probe sent before the latest loss proves nothing. */
  epoch: number
  state: 'pending' | 'up' | 'down'
  stopped: boolean
  /** The subscriber connection went away: report 'down' (if 'up') and probe until a probe comes back. */
  down(): void
  /** The subscriber connection is back: probe now. */
  ready(): void
  /** Redis confirmed the subscription on a connection that hasn't dropped since: 'up'. */
  confirm(): void
  stop(): void
  confirmed: Promise<void>
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
export function redisBus(options: RedisBusOptions): Bus {
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
  let opening: Promise<void> | undefined

  const bounded = <T>(op: string, work: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new StorageError(`${NAME} ${op} on ${link.where} timed out after ${timeoutMs} ms (operationTimeoutMs)`, {
            storage: NAME,
            op: 'connect',
          }),
        )
      }, timeoutMs)
      timer.unref()
      work.then(
        (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(
            error instanceof StorageError
              ? error
              : new StorageError(
                  `${NAME} ${op} on ${link.where} failed: ${messageOf(error)}`,
                  { storage: NAME, op: 'connect' },
                  { cause: error },
                ),
          )
        },
      )
    })

  const open = (): Promise<void> => {
    opening ??= link.open().catch((error: unknown) => {
      opening = undefined
      throw error
    })
    return opening
  }

  const afterClose = (op: string): StorageError =>
    new StorageError(`${NAME} ${op} after close(): this bus is closed`, { storage: NAME, op: 'connect' })

  const publish = (channel: string, payload: string): Promise<void> => {
    if (closed) return Promise.reject(afterClose('publish'))
    return bounded('publish', link.publish(channel, MESSAGE + payload)).then(() => {})
  }

  const createSubscription = (channel: string, handlers: BusHandlers): Subscription => {
    const id = randomBytes(6).toString('base64url')
    const probeHead = `${PROBE}${id}:`
    let timer: ReturnType<typeof setTimeout> | undefined
    let delay = FIRST_PROBE_MS
    let onUp: () => void = () => {}

    const up = (): void => {
      if (sub.stopped || sub.state === 'up') return
      clearTimeout(timer)
      timer = undefined
      sub.state = 'up'
      handlers.state('up')
      onUp()
    }
    // Sends one probe for the current loss and schedules the next, until one comes back or the bus closes.
    const probe = (): void => {
      clearTimeout(timer)
      timer = undefined
      if (sub.stopped || sub.state === 'up') return
      link.revive()
      link.publish(channel, `${probeHead}${sub.epoch}`).catch(() => {})
      timer = setTimeout(probe, delay)
      timer.unref()
      delay = Math.min(delay * 2, MAX_PROBE_MS)
    }
    const listener: RawListener = (raw) => {
      if (sub.stopped) return
      if (raw.startsWith(MESSAGE)) {
        handlers.message(raw.slice(1))
      } else if (raw === `${probeHead}${sub.epoch}`) {
        up()
      }
    }
    const sub: Subscription = {
      listener,
      epoch: 0,
      state: 'pending',
      stopped: false,
      confirmed: new Promise<void>((resolve) => {
        onUp = resolve
      }),
      down() {
        if (sub.stopped) return
        sub.epoch++
        const wasUp = sub.state === 'up'
        sub.state = 'down'
        if (wasUp) {
          handlers.state('down')
          delay = FIRST_PROBE_MS
          timer = setTimeout(probe, delay)
          timer.unref()
        }
      },
      confirm: up,
      ready() {
        if (sub.state !== 'down') return
        delay = FIRST_PROBE_MS
        probe()
      },
      stop() {
        sub.stopped = true
        clearTimeout(timer)
        timer = undefined
      },
    }
    return sub
  }

  const subscribe = async (channel: string, handlers: BusHandlers): Promise<() => Promise<void>> => {
    if (closed) throw afterClose('subscribe')
    if (typeof channel !== 'string' || channel === '') {
      throw new ConfigError(
        'channel',
        `redisBus: subscribe needs a non-empty channel name, got ${describeValue(channel)}`,
      )
    }
    const sub = createSubscription(channel, handlers)
    subscriptions.add(sub)
    const unsubscribe = async (): Promise<void> => {
      if (sub.stopped) return
      sub.stop()
      subscriptions.delete(sub)
      await bounded('unsubscribe', link.unlisten(channel, sub.listener)).catch(() => {})
    }
    try {
      await bounded(
        'subscribe',
        (async () => {
          await open()
          const epoch = sub.epoch
          await link.listen(channel, sub.listener)
          // Confirmed by Redis on a connection that hasn't dropped since: up. Otherwise a probe must prove it.
          if (sub.epoch === epoch) sub.confirm()
          else sub.ready()
          await sub.confirmed
        })(),
      )
    } catch (error) {
      await unsubscribe()
      throw error
    }
    return unsubscribe
  }

  return {
    name: 'redis',
    publish,
    subscribe,
    async close() {
      if (closed) return
      closed = true
      for (const sub of subscriptions) sub.stop()
      subscriptions.clear()
      await bounded('close', link.close()).catch(() => {})
    },
  }
}
