import { CodecError, StorageError, type StorageOp } from '@memokit/core'
import { createDeadlineQueue, type DeadlineQueue, messageOf, storageFailure } from '@memokit/core/backend'

/** Sends one command of an operation: rejects at the operation's deadline, and sends nothing after it. */
export type Call = <R>(start: () => Promise<R>) => Promise<R>

/** Runs one storage operation (all its round trips) within `operationTimeoutMs`. */
export type Run = <T>(op: StorageOp, body: (call: Call) => Promise<T>, valueBytes?: number) => Promise<T>

/** A storage's runner, and its parts for an operation that settles itself (the hit, hit.ts). */
export interface Runner {
  readonly run: Run
  /** Every operation's deadline, in one queue (one timer per storage). */
  readonly deadlines: DeadlineQueue
  /** The error of an operation past its deadline. */
  timedOut(op: StorageOp): StorageError
  /** A failure as the operation rejects with it: a StorageError naming the server; a CodecError as it is. */
  fail(op: StorageOp, error: unknown, valueBytes?: number): Error
  /** The `call` of an operation that has not expired while `expired()` is false. */
  callWhile(op: StorageOp, expired: () => boolean): Call
}

const NAME = 'memcached'

/**
 * The runner of a storage whose server is `where` (for messages): every failure becomes a StorageError naming the
 * server and the operation, with the client's error as `cause`; a CodecError stays what it is.
 */
export function createRunner(where: string, operationTimeoutMs: number): Runner {
  const fail = (op: StorageOp, error: unknown, valueBytes?: number): Error => {
    if (error instanceof StorageError || error instanceof CodecError) return error
    const message = messageOf(error)
    if (valueBytes !== undefined && /too large|too big|E2BIG/i.test(message)) {
      return new StorageError(
        `memcached ${op} on ${where} failed: the server refused a ${valueBytes}-byte entry as larger than its item size limit (1 MB unless memcached runs with -I); cache a smaller value or raise the limit (${message})`,
        { storage: NAME, op },
        { cause: error },
      )
    }
    return storageFailure(NAME, op, where, error)
  }

  const deadlines = createDeadlineQueue(operationTimeoutMs)
  const timedOut = (op: StorageOp): StorageError =>
    new StorageError(
      `memcached ${op} on ${where} timed out after ${operationTimeoutMs} ms (operationTimeoutMs): the server is slow, hung or unreachable`,
      { storage: NAME, op },
    )

  // Promise.resolve returns a native promise as it is (no extra step) and makes a custom client's value one.
  const callWhile =
    (op: StorageOp, expired: () => boolean): Call =>
    <R>(start: () => Promise<R>): Promise<R> => {
      if (expired()) return Promise.reject(timedOut(op))
      try {
        return Promise.resolve(start())
      } catch (error) {
        return Promise.reject(error)
      }
    }

  // One deadline per storage operation, shared by all its round trips, in the shared deadline queue (no timer,
  // Promise.race or async function per operation: a hit paid a setTimeout/clearTimeout pair and two races). After
  // the deadline the operation has rejected and no further command is sent; late replies are dropped. A client's
  // error becomes a StorageError where the operation rejects, not per command (a `then` per command on every hit);
  // nothing inside an operation tells errors apart except CodecError, which stays as it is either way.
  const run = <T>(op: StorageOp, body: (call: Call) => Promise<T>, valueBytes?: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let expired = false
      const deadline = deadlines.add(() => {
        expired = true
        reject(timedOut(op))
      })
      const call = callWhile(op, () => expired)
      let work: Promise<T>
      try {
        work = body(call)
      } catch (error) {
        work = Promise.reject(error)
      }
      work.then(
        (value) => {
          if (deadlines.settle(deadline)) resolve(value)
        },
        (error: unknown) => {
          if (deadlines.settle(deadline)) reject(fail(op, error, valueBytes))
        },
      )
    })
  return { run, deadlines, timedOut, fail, callWhile }
}
