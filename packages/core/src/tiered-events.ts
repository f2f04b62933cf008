import { messageOf } from './backend'
import { type EventMessage, type EventType, eventChannel } from './observe'
import type { TieredEvent } from './tiered-options'

const WARNING_INTERVAL_MS = 10_000

/**
 * Where a tier's events go: `memokit:event` (when subscribed), and the `onEvent` hook (a hook that throws is
 * ignored), else failures become a process warning, at most one per tier every 10 s, so a broken bus is visible
 * without flooding the logs.
 */
export function createEventSink(label: () => string, onEvent: ((event: TieredEvent) => void) | undefined) {
  let lastWarning = Number.NEGATIVE_INFINITY
  return (event: TieredEvent): void => {
    if (eventChannel.hasSubscribers) publishBusEvent(label(), event)
    if (onEvent !== undefined) {
      try {
        onEvent(event)
      } catch {
        // A failing hook must never break the storage.
      }
      return
    }
    const problem = describeFailure(event)
    if (problem === undefined) return
    const now = Date.now()
    if (now - lastWarning < WARNING_INTERVAL_MS) return
    lastWarning = now
    process.emitWarning(
      `memokit tieredStorage (${label()}): ${problem}; further bus warnings of this tier are muted for 10 s, pass onEvent to see each`,
      { type: 'MemokitWarning', code: 'E_STORAGE' },
    )
  }
}

function describeFailure(event: TieredEvent): string | undefined {
  switch (event.type) {
    case 'unreadable':
      return event.reason === 'version'
        ? 'ignored a bus message of another protocol version; upgrade every replica to one memokit version'
        : 'ignored a payload on its bus channel that is not a memokit message; give the tier a channel of its own'
    case 'publish-failed':
      return `a bus publish failed (${messageOf(event.error)}); other replicas drop their L1 when they see the gap`
    case 'subscribe-failed':
      return `the bus subscription failed (${messageOf(event.error)}); reads bypass the L1 until it succeeds, retried every heartbeat`
    default:
      return undefined
  }
}

/** The `memokit:event` messages of a tier event: none for `received` (one per bus message), two for a gap. */
function publishBusEvent(storage: string, event: TieredEvent): void {
  const publish = (type: EventType, reason?: string, error?: unknown): void => {
    const message: EventMessage = {
      type,
      storage,
      namespace: undefined,
      functionName: undefined,
      key: undefined,
      ...(reason === undefined ? {} : { reason }),
      ...(error === undefined ? {} : { error }),
    }
    eventChannel.publish(message)
  }
  switch (event.type) {
    case 'state':
      publish(event.state === 'up' ? 'bus-up' : 'bus-down', event.cause)
      break
    case 'flush':
      if (event.reason === 'gap') publish('bus-gap', 'gap')
      publish('bus-dropped', event.reason)
      break
    case 'unreadable':
      publish('bus-unreadable', event.reason)
      break
    case 'publish-failed':
    case 'subscribe-failed':
      publish(event.type === 'publish-failed' ? 'bus-publish-failed' : 'bus-subscribe-failed', undefined, event.error)
      break
    default:
      // 'received': one per bus message, too many to be events.
      break
  }
}
