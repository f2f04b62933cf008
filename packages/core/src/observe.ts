/**
 * memokit's telemetry, on `node:diagnostics_channel`. Nothing is built or published unless someone subscribes:
 * every publish sits behind `hasSubscribers`, and a wrapper takes its observed path only while `memokit:call` has
 * subscribers (or its `stats` option is on), so an unobserved hit allocates nothing.
 *
 * - `memokit:call` (TracingChannel): around each cached call; its context ({@link CallMessage}) carries exactly one
 *   `outcome` by the time `end` (sync result) or `asyncEnd` (Promise result) is published.
 * - `memokit:compute` (TracingChannel): around each run of `fn` ({@link ComputeMessage}).
 * - `memokit:storage` (TracingChannel): around a cached call's `get`, `set` and `setIfLeased` on a storage that can
 *   fail (not the memory storage; not deletes, clears, lease calls or tag-token reads) ({@link StorageMessage}).
 * - `memokit:event` (Channel): point events ({@link EventMessage}).
 */
import { createHash } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import type { CallMessage, CallOutcome, ComputeMessage, EventMessage, StorageMessage } from './observe-types'

export type {
  CallMessage,
  CallOutcome,
  ComputeMessage,
  ComputeReason,
  EventMessage,
  EventType,
  StorageMessage,
  Tier,
} from './observe-types'

/** The channel names, for subscribers. */
export const CHANNELS = Object.freeze({
  call: 'memokit:call',
  compute: 'memokit:compute',
  storage: 'memokit:storage',
  event: 'memokit:event',
} as const)

/** One of the five channels of a TracingChannel (the part of `node:diagnostics_channel`'s Channel used here). */
export interface TraceEventChannel {
  readonly hasSubscribers: boolean
  publish(message: unknown): void
  runStores<T>(message: unknown, fn: () => T): T
}

/** `node:diagnostics_channel`'s TracingChannel as memokit uses it (typed here: @types/node 20.9 lacks it). */
export interface TracingChannelOf<_Context> {
  readonly hasSubscribers: boolean
  readonly start: TraceEventChannel
  readonly end: TraceEventChannel
  readonly asyncStart: TraceEventChannel
  readonly asyncEnd: TraceEventChannel
  readonly error: TraceEventChannel
}

const tracingChannel = <C>(name: string): TracingChannelOf<C> =>
  (diagnostics as unknown as { tracingChannel(name: string): TracingChannelOf<C> }).tracingChannel(name)

export const callChannel = tracingChannel<CallMessage>(CHANNELS.call)
/**
 * What the hit paths check: `start` of `memokit:call`, one getter, where the TracingChannel's own `hasSubscribers`
 * asks all five of its channels (that cost a third of an S1 hit). Subscribers of `memokit:call` therefore
 * subscribe `start` (any handler, or a bound store), as `tracingChannel.subscribe` with the usual handlers does.
 */
export const callStart: TraceEventChannel = callChannel.start

/**
 * `callStart.hasSubscribers`, kept in a module variable the call paths read: a variable read costs a call less than
 * the getter (about 7 of 245 instructions of an S1 hit, measured with callgrind); the memory hit paths don't read it
 * at all while it is false (memory-route.ts closes them when it turns true). It follows every change because
 * the start channel's own subscribe, unsubscribe, bindStore and unbindStore are wrapped to refresh it; should a
 * Node version change the channel behind those methods, the self-check below leaves it `true`, and every call
 * takes the observed path, which asks the getter itself: slower, never blind.
 */
export let callObserved = true

// Called each time `callObserved` turns true (memory-route.ts closes the memory fast paths then).
const onObserve: Array<() => void> = []

/** Registers `listener` for each time `memokit:call` gains its first subscriber. */
export function onObservationStart(listener: () => void): void {
  onObserve.push(listener)
}

function setObserved(observed: boolean): void {
  const was = callObserved
  callObserved = observed
  if (observed && !was) for (const listener of onObserve) listener()
}

function watchCallStart(): void {
  const channel = callStart as unknown as Record<string, unknown>
  const refresh = (): void => setObserved(callStart.hasSubscribers)
  for (const method of ['subscribe', 'unsubscribe', 'bindStore', 'unbindStore']) {
    Object.defineProperty(channel, method, {
      configurable: true,
      writable: true,
      value(this: object, ...args: unknown[]): unknown {
        // Looked up on the prototype at each call: an inactive channel switches to the active prototype and calls
        // the method again on itself (so through this wrapper once more).
        const own = (Object.getPrototypeOf(this) as Record<string, (...a: unknown[]) => unknown>)[method]
        try {
          return own?.apply(this, args)
        } finally {
          refresh()
        }
      },
    })
  }
  const probe = (): void => {}
  diagnostics.subscribe(`tracing:${CHANNELS.call}:start`, probe)
  const seen = callObserved
  diagnostics.unsubscribe(`tracing:${CHANNELS.call}:start`, probe)
  setObserved(seen ? callStart.hasSubscribers : true)
}
watchCallStart()
export const computeChannel = tracingChannel<ComputeMessage>(CHANNELS.compute)
export const storageChannel = tracingChannel<StorageMessage>(CHANNELS.storage)
export const eventChannel = diagnostics.channel(CHANNELS.event)

/** How keys appear in messages: not at all (default: keys can hold personal data), as a digest, or raw. */
export type ObserveKeys = 'none' | 'digest' | 'raw'

/** The key as `mode` publishes it. */
export function observedKey(mode: ObserveKeys, key: string): string | undefined {
  if (mode === 'none') return undefined
  if (mode === 'raw') return key
  return createHash('sha256').update(key).digest('base64url').slice(0, 16)
}

/** Publishes an event if anyone listens. */
export function publishEvent(event: EventMessage): void {
  if (eventChannel.hasSubscribers) eventChannel.publish(event)
}

/**
 * Runs `run` as a trace on `channel` with `context`, sync or async as `run` turns out to be: `start` (with
 * `runStores`, so bound stores see the context), then `end`, then for a Promise (`context.async` set before `end`)
 * `asyncStart`/`asyncEnd` when it settles; `error` on a throw or rejection. The same events in the same order as
 * `traceSync`/`tracePromise`.
 */
export function trace<C extends { async?: boolean; result?: unknown; error?: unknown }>(
  channel: TracingChannelOf<C>,
  context: C,
  run: () => unknown,
): unknown {
  const { start, end, asyncStart, asyncEnd, error } = channel
  return start.runStores(context, () => {
    let result: unknown
    try {
      result = run()
    } catch (thrown) {
      context.error = thrown
      error.publish(context)
      end.publish(context)
      throw thrown
    }
    if (
      result === null ||
      (typeof result !== 'object' && typeof result !== 'function') ||
      typeof (result as { then?: unknown }).then !== 'function'
    ) {
      context.result = result
      end.publish(context)
      return result
    }
    context.async = true
    end.publish(context)
    return Promise.resolve(result).then(
      (value) => {
        context.result = value
        asyncStart.publish(context)
        asyncEnd.publish(context)
        return value
      },
      (thrown: unknown) => {
        context.error = thrown
        error.publish(context)
        asyncStart.publish(context)
        asyncEnd.publish(context)
        throw thrown
      },
    )
  })
}

// The observed call whose synchronous part is running now. Flights capture it, so outcomes decided later (after an
// async read, a timeout, a failure) still reach the call that started them.
let observing: CallMessage | undefined

/** The observed call running now (only while a wrapper's observed path runs). */
export function currentCall(): CallMessage | undefined {
  return observing
}

/** Runs `run` with `call` as the observed call. */
export function withCall<T>(call: CallMessage, run: () => T): T {
  const previous = observing
  observing = call
  try {
    return run()
  } finally {
    observing = previous
  }
}

/** Records the outcome of `call` (the current one when undefined); later decisions override earlier ones. */
export function mark(call: CallMessage | undefined, outcome: CallOutcome): void {
  const target = call ?? observing
  if (target !== undefined) target.outcome = outcome
}

/** Records `outcome` unless one was recorded already (a miss after `.refresh()` stays `refreshed`). */
export function markUnset(call: CallMessage | undefined, outcome: CallOutcome): void {
  const target = call ?? observing
  if (target !== undefined && target.outcome === undefined) target.outcome = outcome
}
