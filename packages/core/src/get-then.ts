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
