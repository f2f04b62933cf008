/**
 * Which computation already running a miss joins instead of running `fn` again (compute.ts): one a hard timeout
 * abandoned, or a background refresh (swr, refresh-ahead) that outlasted its entry.
 */
import type { Flight } from './flight'
import type { Plan } from './plan'

/** Whether a miss of `key` joins a computation already running rather than run `fn` (see `runningFor`). */
export function joinsRunning(plan: Plan, key: string): boolean {
  return plan.identity.abandoned.has(key) || joinableRefresh(plan, plan.identity.refreshing.get(key))
}

// A background refresh is joined once its `fn` runs on the call's own arguments: without tags, whose tokens are read
// before `fn` and after which the arguments are checked again (compute-run.ts), so it could still turn out `moved`.
const joinableRefresh = (plan: Plan, behind: Flight | undefined): boolean =>
  behind !== undefined && behind.computation !== undefined && !behind.moved && plan.tags === undefined

/**
 * The computation a miss of `key` joins rather than start another: the one a timeout abandoned, else a background
 * refresh (swr, refresh-ahead) whose `fn` is running, which stores its own result. A background refresh that can't be
 * joined (its `fn` not started yet, or its tags' tokens still being read) is dropped, its result never stored: this
 * miss stores the key, and a refresh that started before it (a refresh-ahead just before its entry expired) must not
 * land over that, older data over newer.
 */
export function runningFor(plan: Plan, key: string): Promise<unknown> | undefined {
  const { abandoned, refreshing } = plan.identity
  const orphan = abandoned.get(key)
  if (orphan !== undefined) return orphan.computation
  const behind = refreshing.get(key)
  if (behind === undefined) return undefined
  if (joinableRefresh(plan, behind)) return behind.computation
  behind.invalidated = true
  refreshing.delete(key)
  return undefined
}

// The computations whose late result, or whose failure served stale, was already published: calls joining a
// computation that runs on each hold a flight of their own over the same promise, and each lands or fails it.
export const lateResults = new WeakSet<Promise<unknown>>()
export const reportedFailures = new WeakSet<Promise<unknown>>()

/** Whether `computation` (none: a sync one, never shared) is not in `seen` yet; adds it. */
export function firstFor(seen: WeakSet<Promise<unknown>>, computation: Promise<unknown> | undefined): boolean {
  if (computation === undefined) return true
  if (seen.has(computation)) return false
  seen.add(computation)
  return true
}
