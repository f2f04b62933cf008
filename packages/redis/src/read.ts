import type { StorageOp } from '@memokit/core'
import { type DeadlineQueue, settleFailure, settleValue } from '@memokit/core/backend'

/** What a bounded read needs from its connection (connection.ts): made once per connection, not per read. */
export interface ReadContext {
  readonly deadlines: DeadlineQueue
  /** The operation is over (in-flight count, idle bookkeeping). */
  readonly settle: () => void
  readonly timedOut: (op: StorageOp) => Error
  /** A command's failure as the StorageError callers see. */
  readonly fail: (op: StorageOp, error: unknown) => Error
}

/**
 * The connected read of Connection.read, as one promise: `work`'s reply decoded, bounded by the deadline queue.
 * With `onValue`/`onError`, the decoded value or the failure (StorageError, timeout, what `decode` threw) goes to
 * them inside this promise, which settles with what they return or throw.
 */
export function settleRead<T, R>(
  context: ReadContext,
  op: StorageOp,
  work: Promise<unknown>,
  decode: (reply: unknown) => T,
  onValue: ((value: T) => R) | undefined,
  onError: ((error: unknown) => R) | undefined,
): Promise<R> {
  const { deadlines, settle } = context
  return new Promise<R>((resolve, reject) => {
    const failWith = (error: unknown): void => settleFailure(error, onError, resolve as (r: unknown) => void, reject)
    const deadline = deadlines.add(() => {
      settle()
      failWith(context.timedOut(op))
    })
    // A late reply (or failure) after the deadline is dropped here, so nothing leaks as an unhandled rejection.
    work.then(
      (reply) => {
        if (!deadlines.settle(deadline)) return
        settle()
        let value: T
        try {
          value = decode(reply)
        } catch (error) {
          failWith(error)
          return
        }
        settleValue(value, onValue, resolve as (r: unknown) => void, reject)
      },
      (error: unknown) => {
        if (!deadlines.settle(deadline)) return
        settle()
        failWith(context.fail(op, error))
      },
    )
  })
}
