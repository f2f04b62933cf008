import type { StorageOp } from '@memokit/core'
import { type Deadline, type DeadlineQueue, settleFailure, settleValue } from '@memokit/core/backend'
import type { ConnectionCommand } from './client'

/** What a bounded read needs from its connection (connection.ts): made once per connection, not per read. */
export interface ReadContext {
  readonly deadlines: DeadlineQueue
  /** The operation is over (in-flight count, idle bookkeeping). */
  readonly settle: () => void
  readonly timedOut: (op: StorageOp) => Error
  /** A command's failure as the StorageError callers see. */
  readonly fail: (op: StorageOp, error: unknown) => Error
  /** Sends `command(client, arg, deadline)` on the client to use now; a synchronous throw becomes a rejection. */
  readonly send: <A, T>(command: ConnectionCommand<A, T>, arg: A, deadline: Deadline) => Promise<T>
}

/**
 * The connected read of Connection.read, as one promise: `command(client, arg, deadline)` sent once its deadline is
 * (which it gets), its reply decoded, bounded by that deadline.
 * With `onValue`/`onError`, the decoded value or the failure (StorageError, timeout, what `decode` threw) goes to
 * them inside this promise, which settles with what they return or throw.
 */
export function settleRead<A, T, R>(
  context: ReadContext,
  op: StorageOp,
  command: ConnectionCommand<A, unknown>,
  arg: A,
  decode: (reply: unknown) => T,
  onValue: ((value: T) => R) | undefined,
  onError: ((error: unknown) => R) | undefined,
): Promise<R> {
  // `context`'s members are read where used, not destructured: each variable the closures below capture is a slot
  // of the context every read allocates (`command` and `arg` are one more than the promise they replace).
  return new Promise<R>((resolve, reject) => {
    const failWith = (error: unknown): void => settleFailure(error, onError, resolve as (r: unknown) => void, reject)
    const deadline = context.deadlines.add(() => {
      context.settle()
      failWith(context.timedOut(op))
    })
    // A late reply (or failure) after the deadline is dropped here, so nothing leaks as an unhandled rejection.
    context.send(command, arg, deadline).then(
      (reply) => {
        if (!context.deadlines.settle(deadline)) return
        context.settle()
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
        if (!context.deadlines.settle(deadline)) return
        context.settle()
        failWith(context.fail(op, error))
      },
    )
  })
}
