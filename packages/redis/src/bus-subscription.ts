import { randomBytes } from 'node:crypto'
import type { BusHandlers } from '@memokit/core'
import type { RawListener } from './bus-links'

// Every payload on the wire starts with one letter: 'm' a published message, 'p' a probe. Anything else on the
// channel isn't ours and is ignored.
export const MESSAGE = 'm'
const PROBE = 'p'
// Probes after a loss: the first soon, then backing off to one a second until one comes back.
const FIRST_PROBE_MS = 50
const MAX_PROBE_MS = 1000

/**
 * One subscription's state: `'pending'` until Redis first confirms it, then `'up'` or `'down'`.
 *
 * Client libraries report a lost connection reliably but differ on when a resubscription is confirmed (node-redis
 * says 'ready' after it, ioredis before it, a cluster says nothing per channel). So after a loss, 'up' is proven
 * end to end, the same way on every client: the subscription publishes a probe naming itself and the current loss
 * (its epoch), and reports 'up' when that probe comes back through the channel. A probe sent before the latest
 * loss proves nothing and is ignored.
 */
export interface Subscription {
  readonly listener: RawListener
  /** Counts the losses. */
  readonly epoch: number
  /** Resolves at the first 'up'; rejects if stopped before it. */
  readonly confirmed: Promise<void>
  readonly stopped: boolean
  /** The subscriber connection went away: report 'down' (if 'up') and probe until a probe comes back. */
  down(): void
  /** The subscriber connection is back: probe now. */
  ready(): void
  /** Redis confirmed the subscription on a connection that hasn't dropped since: 'up'. */
  confirm(): void
  /** No more states, messages or probes. */
  stop(): void
}

/**
 * Creates the state of one subscription to `channel`. `probe(channel, message)` publishes a probe (failures are
 * the probe's loss: the next one follows); `revive()` asks the link to reconnect a subscriber that gave up.
 */
export function createSubscription(
  channel: string,
  handlers: BusHandlers,
  probe: (channel: string, message: string) => void,
  revive: () => void,
): Subscription {
  const probeHead = `${PROBE}${randomBytes(6).toString('base64url')}:`
  let state: 'pending' | 'up' | 'down' = 'pending'
  let epoch = 0
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let delay = FIRST_PROBE_MS
  let onUp: () => void = () => {}
  let onStop: (error: Error) => void = () => {}
  const confirmed = new Promise<void>((resolve, reject) => {
    onUp = resolve
    onStop = reject
  })
  // Stopped before anyone awaits it: not an unhandled rejection (an awaiting subscribe still sees it).
  confirmed.catch(() => {})

  const schedule = (): void => {
    clearTimeout(timer)
    timer = setTimeout(sendProbe, delay)
    timer.unref()
    delay = Math.min(delay * 2, MAX_PROBE_MS)
  }
  // One probe for the current loss, and the next one scheduled, until one comes back or the bus closes.
  function sendProbe(): void {
    // Called by its timer or by ready(): a probe scheduled meanwhile is replaced, not left to start a second loop.
    clearTimeout(timer)
    timer = undefined
    if (stopped || state === 'up') return
    revive()
    probe(channel, `${probeHead}${epoch}`)
    schedule()
  }
  const up = (): void => {
    if (stopped || state === 'up') return
    clearTimeout(timer)
    timer = undefined
    state = 'up'
    handlers.state('up')
    onUp()
  }
  return {
    listener: (raw) => {
      if (stopped) return
      if (raw.startsWith(MESSAGE)) handlers.message(raw.slice(1))
      else if (raw === `${probeHead}${epoch}`) up()
    },
    get epoch() {
      return epoch
    },
    get stopped() {
      return stopped
    },
    confirmed,
    down() {
      if (stopped) return
      epoch++
      const wasUp = state === 'up'
      state = 'down'
      if (!wasUp) return
      handlers.state('down')
      delay = FIRST_PROBE_MS
      schedule()
    },
    ready() {
      if (stopped || state !== 'down') return
      delay = FIRST_PROBE_MS
      sendProbe()
    },
    confirm: up,
    stop() {
      stopped = true
      clearTimeout(timer)
      timer = undefined
      // A subscribe still waiting for its first 'up' ends now, not at its timeout (a no-op once confirmed).
      onStop(new Error('the subscription was stopped (unsubscribed, or the bus closed) before Redis confirmed it'))
    },
  }
}
