/**
 * The two ends of a replica's message sequence: numbering what it publishes (a burst's key invalidations merged),
 * and checking what it hears from each sender for messages lost in between; and what keeps the process alive
 * while the link's awaited work is under way.
 */
import type { Bus } from './bus'
import { type BusInvalidation, type BusMessage, encodeBusPayload } from './bus-protocol'
import { soon } from './soon'
import type { TieredFlushReason } from './tiered-options'

export interface Publisher {
  /**
   * Numbers and publishes in the background; `failed` hears a rejection, nothing is thrown. 'keys' invalidations
   * wait for the end of the turn (the flush their first one queued on the microtask queue) and go out merged, one
   * message per namespace and op; any other kind publishes them first, then itself.
   */
  send(invalidation: BusInvalidation): void
  /** Publishes what is waiting, then settles when every publish issued so far has. */
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

// A burst of writes (misses resolving together) shares its 'keys' messages: one per namespace and op rather than
// one per key, since publishing, and every replica receiving and decoding, cost far more per message than per key.
// The cap keeps a huge burst from becoming one giant message (its keys' characters, JSON escaping aside).
const MAX_BATCH_KEYS = 256
const MAX_BATCH_CHARS = 32_768

interface Batch {
  readonly op: 'set' | 'delete'
  readonly namespace: string
  readonly keys: string[]
  chars: number
}

/**
 * Key invalidations not yet published, in the order their batches began; usually one. Keys of one namespace and op
 * join the batch begun first even past another batch: every message only drops, and drops commute. Nothing holds
 * the process for them: a microtask turn ends before the event loop could, and `publish` then holds what it sends.
 */
function createBatches(publish: (invalidation: BusInvalidation) => void) {
  let batches: Batch[] = []
  const flush = (): void => {
    if (batches.length === 0) return
    const due = batches
    batches = []
    for (const { op, namespace, keys } of due) publish({ kind: 'keys', op, namespace, keys })
  }
  const add = (op: Batch['op'], namespace: string, keys: readonly string[]): void => {
    let open: Batch | undefined
    for (const b of batches) if (b.op === op && b.namespace === namespace) open = b
    // A microtask, not setImmediate: the writes of a burst whose L2 replies came in one read resolve in the same
    // microtask turn, and the message still leaves before the caller's `await set()` resumes (it is queued ahead),
    // so no write waits for the event loop.
    if (batches.length === 0) soon(flush)
    if (open === undefined) {
      open = { op, namespace, keys: [], chars: 0 }
      batches.push(open)
    }
    for (const key of keys) {
      open.keys.push(key)
      open.chars += key.length
    }
    // Everything pending goes, not only the full batch: messages keep the order their batches began in.
    if (open.keys.length >= MAX_BATCH_KEYS || open.chars >= MAX_BATCH_CHARS) flush()
  }
  return { add, flush }
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
  const publish = (invalidation: BusInvalidation): void => {
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
  }
  const batches = createBatches(publish)
  return {
    send(invalidation) {
      if (invalidation.kind === 'keys') {
        batches.add(invalidation.op, invalidation.namespace, invalidation.keys)
        return
      }
      // Pending keys go first: a clear that follows a write is heard after it, as before batching.
      batches.flush()
      publish(invalidation)
    },
    settled() {
      batches.flush()
      return Promise.allSettled([...publishing])
    },
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
