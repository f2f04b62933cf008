import { AsyncLocalStorage } from 'node:async_hooks'

/** What a computation can learn about itself through {@link computeContext}. */
export interface ComputeContext {
  /**
   * Aborts when memokit gives up on this computation: its hard timeout passed (the reason is the `TimeoutError`),
   * or its entry was deleted or cleared while it ran. Pass it on to `fetch`, database drivers, etc.
   */
  readonly signal: AbortSignal
  /** `true` for a refresh behind a stale or refresh-ahead hit, whose result no caller is waiting for. */
  readonly background: boolean
  /** The stale entry this computation replaces, if there is one: its value, `createdAt` and `staleAt` (ms). */
  readonly stale: { readonly value: unknown; readonly createdAt: number; readonly staleAt: number } | undefined
}

// Created on the first `computeContext()` call: before any code asks, no computation pays for async context
// tracking. Until then (and always, before the function's first await) `current` answers.
let storage: AsyncLocalStorage<ComputeContext> | undefined
let current: ComputeContext | undefined

/**
 * The context of the cached computation running now: its AbortSignal, whether it runs in the background, and the
 * stale value it replaces. `undefined` outside a computation (hits never set it, so they pay nothing). Read it at
 * the start of the function, before its first `await`; later reads work too once any code has called it before.
 *
 * @example
 * const getPage = cacheValue(async (url: string) => {
 *   const { signal } = computeContext() ?? {}
 *   return (await fetch(url, { signal })).text()
 * }, { ttl: '1m', timeout: { hard: '5s' } })
 */
export function computeContext(): ComputeContext | undefined {
  storage ??= new AsyncLocalStorage()
  return storage.getStore() ?? current
}

/** Calls `fn` with `context` as the current compute context. */
export function runInContext(
  context: ComputeContext,
  fn: (...args: unknown[]) => unknown,
  self: unknown,
  args: unknown[],
): unknown {
  const previous = current
  current = context
  try {
    return storage === undefined ? fn.apply(self, args) : storage.run(context, () => fn.apply(self, args))
  } finally {
    current = previous
  }
}
