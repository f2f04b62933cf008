import { CodecError, StorageError, type StorageOp } from '@memokit/core'
import { storageFailure } from '@memokit/core/backend'
import type { KeyvLike } from './keyv-like'

/** Sends one Keyv call of an operation: rejects at the deadline, and after a failure the store only reported. */
export type Call = <R>(start: () => Promise<R>) => Promise<R>

/** How an operation is ordered against the writes of its storage (keyv-storage.ts). */
export interface Order {
  /** The writes it must follow: awaited within its deadline before its first call, which is never sent after it. */
  readonly after?: Promise<unknown>
  /** Gets the store's own promise of every call it starts: a write is tracked until those settled, not its deadline. */
  readonly sent?: Promise<unknown>[]
}

/** Runs one storage operation. */
export type Run = <T>(op: StorageOp, body: (call: Call) => Promise<T>, order?: Order) => Promise<T>

/**
 * Settles once `work` has and every store call it started has answered: what a later write or invalidation of the
 * same keys waits for. A call that timed out for its caller may still reach a store that spreads calls over a pool.
 * A call still unanswered `graceMs` after `work` failed is waited for no longer (a store may never answer one it
 * lost: its key could then never be written or invalidated again); `onLate` runs if it answers after that.
 */
export function landed(
  work: Promise<unknown>,
  sent: readonly Promise<unknown>[],
  graceMs: number,
  onLate: () => void,
): Promise<unknown> {
  // Succeeded: every call it made has answered, so nothing is left to wait for but their settled promises.
  const all = (): Promise<unknown> => Promise.allSettled(sent)
  const bounded = (): Promise<unknown> =>
    new Promise((resolve) => {
      let gaveUp = false
      const timer = setTimeout(() => {
        gaveUp = true
        resolve(undefined)
      }, graceMs)
      timer.unref?.()
      void all().then(() => {
        clearTimeout(timer)
        if (gaveUp) onLate()
        resolve(undefined)
      })
    })
  return work.then(all, bounded)
}

/** The runners of one storage. */
export interface Runner {
  /** All the calls of the operation share one deadline, `operationTimeoutMs` from its start. */
  readonly run: Run
  /** Each call gets its own `operationTimeoutMs` (a clear listing a large store takes as long as it takes). */
  readonly runSteps: Run
}

export const NAME = 'keyv'

/** The store failures one Keyv instance reported as `'error'` events, counted. */
interface ErrorWatch {
  count: number
  last: unknown
}

// One listener per Keyv instance, however many storages share it (Keyv warns past 100 listeners).
const watches = new WeakMap<KeyvLike, ErrorWatch>()

function watchErrors(keyv: KeyvLike): ErrorWatch {
  let watch = watches.get(keyv)
  if (watch === undefined) {
    const created: ErrorWatch = { count: 0, last: undefined }
    keyv.on('error', (error) => {
      created.count++
      created.last = error
    })
    watches.set(keyv, created)
    watch = created
  }
  return watch
}

/**
 * The runners of a storage over `keyv`, whose store is `where` (for messages). Keyv and most adapters report a
 * store failure only as an `'error'` event unless `throwOnErrors` is set, and answer as if the key were absent:
 * an operation during which such an event arrives fails, with the event's error as `cause`, so an outage is never
 * mistaken for a miss (an error of a concurrent caller of the same Keyv fails it too). Every failure becomes a
 * StorageError naming the store; a CodecError stays what it is.
 */
export function createRunner(keyv: KeyvLike, where: string, operationTimeoutMs: number): Runner {
  const watch = watchErrors(keyv)
  const fail = (op: StorageOp, error: unknown): Error =>
    error instanceof StorageError || error instanceof CodecError ? error : storageFailure(NAME, op, where, error)
  const timeout = (op: StorageOp): StorageError =>
    new StorageError(
      `keyv ${op} on ${where} timed out after ${operationTimeoutMs} ms (operationTimeoutMs): the store is slow, hung or unreachable`,
      { storage: NAME, op },
    )
  const deadline = (op: StorageOp, onTimeout?: () => void): { promise: Promise<never>; stop: () => void } => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const promise = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout?.()
        reject(timeout(op))
      }, operationTimeoutMs)
    })
    // Raced, never awaited alone: a deadline that loses must not surface as an unhandled rejection.
    promise.catch(() => undefined)
    return { promise, stop: () => clearTimeout(timer) }
  }

  const runner = (perCall: boolean): Run => {
    return async <T>(op: StorageOp, body: (call: Call) => Promise<T>, order?: Order): Promise<T> => {
      const errorsBefore = watch.count
      let timedOut = false
      const whole = perCall ? undefined : deadline(op, () => (timedOut = true))
      const call: Call = async (start) => {
        if (timedOut) throw timeout(op)
        const own = perCall ? deadline(op) : undefined
        const limit = (own ?? (whole as { promise: Promise<never> })).promise
        try {
          const pending = Promise.resolve().then(start)
          order?.sent?.push(pending)
          const result = await Promise.race([pending, limit])
          if (watch.count !== errorsBefore) {
            throw storageFailure(NAME, op, where, watch.last, 'the Keyv store reported this failure as an error event')
          }
          return result
        } catch (error) {
          throw fail(op, error)
        } finally {
          own?.stop()
        }
      }
      const before = order?.after
      let work: Promise<T>
      if (before === undefined) work = body(call)
      else {
        // runSteps has no deadline for the whole operation: the wait gets one of its own.
        const wait = whole ?? deadline(op, () => (timedOut = true))
        work = Promise.race([before, wait.promise]).then(() => {
          if (wait !== whole) wait.stop()
          return body(call)
        })
      }
      work.catch(() => undefined)
      try {
        return await (whole === undefined ? work : Promise.race([work, whole.promise]))
      } catch (error) {
        throw fail(op, error)
      } finally {
        whole?.stop()
      }
    }
  }
  return { run: runner(false), runSteps: runner(true) }
}
