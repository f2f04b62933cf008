/**
 * A wrapper's observed path: taken while `memokit:call` has subscribers, or always with the `stats` option. It runs
 * the plain call path (no memory fast paths) inside a `memokit:call` trace, with the call's message current so the
 * flow can record its outcome, and counts outcomes for `.stats()`.
 */

import { type CallMessage, type CallOutcome, callChannel, callStart, observedKey, trace, withCall } from './observe'
import { isPromiseLike } from './options'
import type { Plan } from './plan'

/** A wrapper's outcome counts since it was created (`stats: true`). */
export interface CacheStats {
  /** Fresh hits. */
  readonly hits: number
  /** Stale values served: `stale`, `stale-if-error` and `stale-if-timeout` outcomes. */
  readonly stale: number
  /** Calls that ran `fn` (`miss`, and `bypass` while the storage was skipped). */
  readonly misses: number
  /** Calls that shared another call's computation. */
  readonly joins: number
  /** Calls that threw or rejected. */
  readonly errors: number
  /** `.refresh()` calls. */
  readonly refreshes: number
  /** Runs of `fn`, background refreshes included. */
  readonly computations: number
}

export type Counters = { -readonly [K in keyof CacheStats]: number }

export const createCounters = (): Counters => ({
  hits: 0,
  stale: 0,
  misses: 0,
  joins: 0,
  errors: 0,
  refreshes: 0,
  computations: 0,
})

const COUNTED: Record<CallOutcome, keyof Counters> = {
  hit: 'hits',
  stale: 'stale',
  'stale-if-error': 'stale',
  'stale-if-timeout': 'stale',
  miss: 'misses',
  bypass: 'misses',
  joined: 'joins',
  waited: 'joins',
  refreshed: 'refreshes',
  error: 'errors',
}

export function observedCall(
  plan: Plan,
  call: (self: unknown, args: unknown[]) => unknown,
): (self: unknown, args: unknown[]) => unknown {
  const { counters } = plan
  const settle = (message: CallMessage, outcome: CallOutcome | undefined): void => {
    // A call that throws or rejects is an error whatever it was on the way; one that answers has an outcome.
    message.outcome = outcome ?? message.outcome ?? 'hit'
    if (counters !== undefined) counters[COUNTED[message.outcome]]++
  }
  const observe = (message: CallMessage, self: unknown, args: unknown[]): unknown => {
    let result: unknown
    try {
      result = withCall(message, () => call(self, args))
    } catch (error) {
      settle(message, 'error')
      throw error
    }
    if (!isPromiseLike(result)) {
      settle(message, undefined)
      return result
    }
    return Promise.resolve(result).then(
      (value) => {
        settle(message, undefined)
        return value
      },
      (error: unknown) => {
        settle(message, 'error')
        throw error
      },
    )
  }
  return (self, args) => {
    let key: string | undefined
    if (plan.observeKeys !== 'none') {
      try {
        key = observedKey(plan.observeKeys, plan.encodeKey(args))
      } catch {
        // The call itself reports the KeyError.
      }
    }
    const message: CallMessage = {
      namespace: plan.namespace,
      functionName: plan.name,
      storage: plan.storage.name,
      tier: plan.tier,
      outcome: undefined,
      key,
    }
    if (!callStart.hasSubscribers) return observe(message, self, args)
    return trace(callChannel, message, () => observe(message, self, args))
  }
}
