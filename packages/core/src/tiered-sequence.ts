/**
 * The two ends of a replica's message sequence: numbering what it publishes, and checking what it hears from each
 * sender for messages lost in between; and what keeps the process alive while the link's awaited work is under way.
 */
import type { Bus } from './bus'
import { type BusInvalidation, type BusMessage, encodeBusPayload } from './bus-protocol'
import type { TieredFlushReason } from './tiered-options'

export interface Publisher {
  /** Numbers and publishes one message in the background; `failed` hears a rejection, nothing is thrown. */
  send(invalidation: BusInvalidation): void
  /** Settles when every publish issued so far has. */
  settled(): Promise<unknown>
}

/**
 * Keeps the process alive while `work` is under way, though the bus's sockets are unref'd (a subscription must not
 * keep a process alive by itself): a script that awaits `ready`, or writes and exits, would otherwise end before its
 * subscription or its invalidation got through. One ref'd timer while anything is held; the bus bounds each
 * operation, so nothing is held for long.
 */
export function createKeepAlive(): <T>(work: Promise<T>) => Promise<T> {
  let held = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const release = (): void => {
    if (--held === 0) {
      clearTimeout(timer)
      timer = undefined
    }
  }
  return (work) => {
    // Never fires in practice (about 12 days): it only holds the event loop open. A timeout, not an interval, so a
    // fake clock's runAllTimers runs it once instead of forever.
    if (held++ === 0) timer = setTimeout(() => {}, 2 ** 30)
    work.then(release, release)
    return work
  }
}

export function createPublisher(
  bus: Bus,
  channel: string,
  sender: string,
  failed: (error: unknown) => void,
  hold: <T>(work: Promise<T>) => Promise<T>,
): Publisher {
  const publishing = new Set<Promise<void>>()
  let seq = 0
  return {
    send(invalidation) {
      // The number is taken even if the publish fails: receivers then see the gap, which is what makes it safe.
      const payload = encodeBusPayload(sender, ++seq, invalidation)
      let sent: Promise<void>
      try {
        sent = bus.publish(channel, payload)
      } catch (error) {
        sent = Promise.reject(error)
      }
      const tracked = sent.catch(failed)
      // An invalidation was caused by a caller's write; a heartbeat is the link's own, and must not hold the process.
      if (invalidation.kind !== 'heartbeat') hold(tracked)
      publishing.add(tracked)
      void tracked.finally(() => publishing.delete(tracked))
    },
    settled: () => Promise.allSettled([...publishing]),
  }
}

export interface SequenceCheck {
  /**
   * Records the message's place in its sender's sequence; returns why the L1 must be dropped before the message is
   * applied (messages before it may be lost), or undefined.
   */
  check(message: BusMessage, now: number): TieredFlushReason | undefined
  /** Forgets senders not heard from since `before` (ms); one heard again later counts as a first contact. */
  forget(before: number): void
}

export function createSequenceCheck(): SequenceCheck {
  const senders = new Map<string, { seq: number; heardAt: number }>()
  return {
    check(message, now) {
      const known = senders.get(message.sender)
      if (known === undefined) {
        senders.set(message.sender, { seq: message.seq, heardAt: now })
        // Heard first in mid-sequence: what came before may have been published after this replica subscribed.
        return message.seq === 1 ? undefined : 'new-sender'
      }
      known.heardAt = now
      // A repeated or older number changes nothing; pub/sub transports don't reorder one sender's messages.
      if (message.seq <= known.seq) return undefined
      const gap = message.seq > known.seq + 1
      known.seq = message.seq
      return gap ? 'gap' : undefined
    },
    forget(before) {
      for (const [sender, known] of senders) if (known.heardAt < before) senders.delete(sender)
    },
  }
}
