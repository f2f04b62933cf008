/**
 * Calling `fn` for a flight: its compute context (signal, background, the stale value in hand), the tags' tokens
 * read before it starts, and its trace on `memokit:compute`. compute.ts decides when it runs and lands the result.
 */
import { type ComputeContext, runInContext } from './context'
import { type Flight, moveAway } from './flight'
import type { WithMeta } from './memory'
import { type ComputeMessage, computeChannel, mark, observedKey, publishEvent, trace } from './observe'
import { isPromiseLike } from './options'
import type { Plan } from './plan'
import { snapshotTags, tagsOf } from './tags'

function contextOf(flight: Flight, stale: WithMeta | undefined): ComputeContext {
  return {
    get signal() {
      return flight.signal
    },
    background: flight.background,
    stale:
      stale === undefined
        ? undefined
        : { value: stale.value, createdAt: stale.createdAt, staleAt: stale.meta.staleAt as number },
  }
}

/** Whether `args` no longer encode to `key` (or no longer encode at all). */
export function keyMoved(plan: Plan, args: unknown[], key: string): boolean {
  try {
    return plan.encodeKey(args) !== key
  } catch {
    return true
  }
}

/**
 * Calls `fn` in its compute context, traced on `memokit:compute` when anyone listens. `writable`: its result may be
 * stored, so its tags' tokens are read first; a call that can't store (its read was skipped or failed: breaker open,
 * storage down) doesn't ask the storage for them, which would cost it a timeout of a hung server before `fn`.
 */
export function run(
  plan: Plan,
  self: unknown,
  args: unknown[],
  flight: Flight,
  fallback: WithMeta | undefined,
  writable: boolean,
): unknown {
  if (plan.tags === undefined || !writable) return runFn(plan, self, args, flight, fallback)
  // The tags' tokens are read before `fn` starts: an invalidation while it runs then invalidates its result.
  const snapshot = snapshotTags(plan, tagsOf(plan, args))
  if (!isPromiseLike(snapshot)) {
    flight.tags = snapshot
    return runFn(plan, self, args, flight, fallback)
  }
  return snapshot.then((tags) => {
    flight.tags = tags
    // The tokens were read after compute.ts checked the arguments: an argument object may have changed meanwhile.
    if (!flight.moved && keyMoved(plan, args, flight.key)) moveAway(plan.identity, flight)
    return runFn(plan, self, args, flight, fallback)
  })
}

function runFn(plan: Plan, self: unknown, args: unknown[], flight: Flight, fallback: WithMeta | undefined): unknown {
  if (plan.counters !== undefined) plan.counters.computations++
  const context = contextOf(flight, fallback)
  if (!computeChannel.hasSubscribers) return runInContext(context, plan.fn, self, args)
  const message: ComputeMessage = {
    namespace: plan.namespace,
    functionName: plan.name,
    storage: plan.storage.name,
    reason: flight.reason,
    background: flight.background,
    key: observedKey(plan.observeKeys, flight.key),
  }
  return trace(computeChannel, message, () => runInContext(context, plan.fn, self, args))
}

/**
 * Answers `flight`'s callers with the stale value `fallback` in place of `error` (a failed or timed-out computation,
 * a lease wait that ran out): reported to `onError` and as a `stale-if-error` event. The caller checks the window.
 */
export function serveStaleOnError(plan: Plan, flight: Flight, fallback: WithMeta, error: unknown): void {
  plan.report('compute', plan.namespace, flight.key, error)
  publishEvent(plan.event('stale-if-error', flight.key, error))
  if (!flight.settled) mark(flight.observer, 'stale-if-error')
  flight.resolve(fallback.value)
}
