import type { Entry } from './storage'

/**
 * A storage's optional read-and-continue member, `[GET_THEN](namespace, key, onEntry, onError)`: reads as `get`
 * does and hands the entry (or the failure) to the callbacks inside its own promise, which settles with what they
 * return or throw. Core's hit path (flow.ts readAndServe) then needs no promise of its own. Exported from
 * `@memokit/core/backend` for storages; optional, and no part of the Storage contract. A registered symbol, so two
 * copies of core agree on it.
 */
export const GET_THEN: unique symbol = Symbol.for('memokit.getThen') as never

/** The type of a storage's {@link GET_THEN} member. */
export type GetThen = (
  namespace: string,
  key: string,
  onEntry: (entry: Entry | undefined) => unknown,
  onError: (error: unknown) => unknown,
) => Promise<unknown>

/**
 * Settles a read-and-continue read's promise with a value, as {@link GET_THEN} promises: through `onValue` when
 * given (its return value, or a rejection with what it throws), else with the value itself. Backends call it with
 * their read's own `resolve`/`reject`, so the hit needs no promise besides the read's.
 */
export function settleValue<T>(
  value: T,
  onValue: ((value: T) => unknown) | undefined,
  resolve: (result: unknown) => void,
  reject: (error: unknown) => void,
): void {
  if (onValue === undefined) {
    resolve(value)
    return
  }
  try {
    resolve(onValue(value))
  } catch (thrown) {
    reject(thrown)
  }
}

/**
 * Settles a read-and-continue read's promise with a failure: through `onError` when given (its return value, or a
 * rejection with what it throws), else a rejection with the failure. What `onValue` throws never comes here.
 */
export function settleFailure(
  error: unknown,
  onError: ((error: unknown) => unknown) | undefined,
  resolve: (result: unknown) => void,
  reject: (error: unknown) => void,
): void {
  if (onError === undefined) {
    reject(error)
    return
  }
  try {
    resolve(onError(error))
  } catch (thrown) {
    reject(thrown)
  }
}
