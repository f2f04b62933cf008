/**
 * A tier's link to its bus: publishes invalidations with this replica's id and sequence numbers, applies other
 * replicas' messages, and decides when the L1 may be used at all.
 *
 * The L1 is usable only while the transport says `'up'` AND this replica's own heartbeats come back: a transport
 * can be subscribed and still deliver nothing (a "limbo" subscriber), and only a message it carried proves it
 * works. Whenever messages may have been lost (a (re)subscription, a sequence gap, a sender heard for the first
 * time in mid-sequence, heartbeats coming back after a silence), every L1 entry written before is dropped.
 */
import { randomUUID } from 'node:crypto'
import type { BusHandlers, BusState } from './bus'
import { type BusInvalidation, decodeBusMessage } from './bus-protocol'
import type { ResolvedTiered, TieredEvent, TieredFlushReason } from './tiered-options'
import { createKeepAlive, createPublisher, createSequenceCheck } from './tiered-sequence'

export interface BusLink {
  /** Whether the L1 may be read and written now. */
  usable(): boolean
  /** Publishes an invalidation in the background; a failure is reported, never thrown. */
  publish(invalidation: BusInvalidation): void
  /** Settles once the first subscription attempt did (subscribed, or failed and reported). */
  readonly ready: Promise<void>
  /** Stops the heartbeat, unsubscribes, and waits for publishes still under way. */
  close(): Promise<void>
}

/** What the link asks of its tier. */
export interface LinkTarget {
  apply(invalidation: BusInvalidation): void
  flush(reason: TieredFlushReason): void
  emit(event: TieredEvent): void
}

// A sender silent for this many heartbeat timeouts is forgotten; if it speaks again, that is a first contact.
const FORGET_AFTER_TIMEOUTS = 10

/** One closure per replica's link: its state (transport, heartbeat, subscription) is shared by every handler. */
export function connectBus(resolved: ResolvedTiered, target: LinkTarget): BusLink {
  const bus = resolved.bus as NonNullable<ResolvedTiered['bus']>
  const { channel, heartbeat, heartbeatTimeout } = resolved
  const id = randomUUID()
  const sequence = createSequenceCheck()
  const hold = createKeepAlive()
  const publisher = createPublisher(bus, channel, id, (error) => target.emit({ type: 'publish-failed', error }), hold)
  let transportUp = false
  let heartbeatOk = true
  let lastOwnBeat = 0
  let closed = false
  let subscribing = false
  let unsubscribe: (() => Promise<void>) | undefined

  const send = (invalidation: BusInvalidation): void => {
    if (!closed) publisher.send(invalidation)
  }
  const becameUsable = (reason: TieredFlushReason, cause: 'transport' | 'heartbeat'): void => {
    target.flush(reason)
    target.emit({ type: 'state', state: 'up', cause })
  }
  const handlers: BusHandlers = {
    message(payload) {
      if (closed) return
      const message = decodeBusMessage(payload)
      if ('unreadable' in message) {
        target.emit({ type: 'unreadable', reason: message.unreadable, payload })
        return
      }
      const now = Date.now()
      const lost = sequence.check(message, now)
      if (lost !== undefined) target.flush(lost)
      if (message.sender === id) {
        if (message.kind !== 'heartbeat') return
        lastOwnBeat = now
        if (!heartbeatOk) {
          heartbeatOk = true
          if (transportUp) becameUsable('heartbeat', 'heartbeat')
        }
      } else if (message.kind !== 'heartbeat') {
        target.apply(message)
      }
      target.emit({ type: 'received', message })
    },
    state(state: BusState) {
      if (closed) return
      if (state === 'down') {
        if (!transportUp) return
        transportUp = false
        target.emit({ type: 'state', state: 'down', cause: 'transport' })
        return
      }
      transportUp = true
      heartbeatOk = true
      lastOwnBeat = Date.now()
      becameUsable('up', 'transport')
      send({ kind: 'heartbeat' })
    },
  }
  const subscribe = (): Promise<void> => {
    subscribing = true
    let attempt: Promise<() => Promise<void>>
    try {
      attempt = bus.subscribe(channel, handlers)
    } catch (error) {
      attempt = Promise.reject(error)
    }
    return attempt.then(
      (stop) => {
        subscribing = false
        if (closed) void stop().catch(() => {})
        else unsubscribe = stop
      },
      (error: unknown) => {
        subscribing = false
        // Closed meanwhile: the attempt ended because of it (the bus closed too), nothing to report.
        if (!closed) target.emit({ type: 'subscribe-failed', error })
      },
    )
  }
  const tick = (): void => {
    if (unsubscribe === undefined) {
      if (!subscribing) void subscribe()
      return
    }
    const now = Date.now()
    if (transportUp && heartbeatOk && now - lastOwnBeat > heartbeatTimeout) {
      heartbeatOk = false
      target.emit({ type: 'state', state: 'down', cause: 'heartbeat' })
    }
    sequence.forget(now - FORGET_AFTER_TIMEOUTS * heartbeatTimeout)
    if (transportUp) send({ kind: 'heartbeat' })
  }
  const timer = setInterval(tick, heartbeat)
  timer.unref()
  // The first attempt holds the process: `await tier.ready` must not be the end of a script.
  const ready = hold(subscribe())
  return {
    usable: () => transportUp && heartbeatOk && !closed,
    publish: send,
    ready,
    close() {
      if (closed) return Promise.resolve()
      closed = true
      clearInterval(timer)
      const stop = unsubscribe
      unsubscribe = undefined
      // Awaited by the caller: held, as the first subscription is.
      return hold(publisher.settled().then(() => stop?.()))
    },
  }
}
