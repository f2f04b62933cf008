import { CodecError, StorageError, type StorageOp } from '@memokit/core'
import { messageOf, storageFailure } from '@memokit/core/backend'

/** Sends one command of an operation: rejects at the operation's deadline, and sends nothing after it. */
export type Call = <R>(start: () => Promise<R>) => Promise<R>

/** Runs one storage operation (all its round trips) within `operationTimeoutMs`. */
export type Run = <T>(op: StorageOp, body: (call: Call) => Promise<T>, valueBytes?: number) => Promise<T>

const NAME = 'memcached'

/**
 * The runner of a storage whose server is `where` (for messages): every failure becomes a StorageError naming the
 * server and the operation, with the client's error as `cause`; a CodecError stays what it is.
 */
export function createRunner(where: string, operationTimeoutMs: number): Run {
  const fail = (op: StorageOp, error: unknown, valueBytes: number | undefined): Error => {
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

  // One deadline per storage operation, shared by all its round trips. After it passes, the operation rejects and
  // no further command is sent; late replies are dropped (their rejections are handled, nothing leaks).
  const run = async <T>(op: StorageOp, body: (call: Call) => Promise<T>, valueBytes?: number): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    let timedOut = false
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true
        reject(
          new StorageError(
            `memcached ${op} on ${where} timed out after ${operationTimeoutMs} ms (operationTimeoutMs): the server is slow, hung or unreachable`,
            { storage: NAME, op },
          ),
        )
      }, operationTimeoutMs)
    })
    const call: Call = <R>(start: () => Promise<R>): Promise<R> => {
      if (timedOut) return deadline
      let pending: Promise<R>
      try {
        pending = Promise.resolve(start())
      } catch (error) {
        return Promise.reject(fail(op, error, valueBytes))
      }
      return Promise.race([
        pending.then(undefined, (error: unknown) => {
          throw fail(op, error, valueBytes)
        }),
        deadline,
      ])
    }
    const work = body(call)
    try {
      return await Promise.race([work, deadline])
    } finally {
      clearTimeout(timer)
      work.catch(() => undefined)
    }
  }
  return run
}
