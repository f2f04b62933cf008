/**
 * The storage's way to its collection: connects lazily (creating the indexes once), bounds every operation by
 * `operationTimeoutMs`, turns every failure into a StorageError, and closes the client it built itself.
 */
import { StorageError, type StorageOp } from '@memokit/core'
import { createDeadlineQueue, storageFailure, type WriteTracker } from '@memokit/core/backend'
import type { MongoCollectionLike } from './documents'
import { ensureIndexes } from './indexes'
import type { ResolvedOptions } from './options'

const NAME = 'mongodb'

/** How an operation is ordered against the writes of the same storage object. */
export interface Order {
  /** Settles once the writes this operation must follow have settled (an invalidation's, or a write's of its key). */
  readonly after?: Promise<void> | undefined
  /** Namespace and key of a write, tracked until the server has answered it (or the driver gave up). */
  readonly write?: readonly [string, string]
}

/** The connection of one storage object. */
export interface Connection {
  /**
   * Runs one driver operation within operationTimeoutMs (connect, index creation and waiting for earlier writes
   * included) and wraps every failure in a StorageError. `map` turns the result into the operation's value in the
   * same promise (a hit: the decoded entry); what it throws rejects as is.
   */
  run<T, R = T>(
    op: StorageOp,
    fn: (col: MongoCollectionLike) => Promise<T>,
    order?: Order,
    map?: (value: T) => R,
  ): Promise<R>
  /** Closes the client built from `url` (a client passed in stays open); later `run`s reject. */
  close(): Promise<void>
}

/** The {@link Connection} of a storage with these options; `writes` tracks its writes for `Order.write`. */
export function openConnection(resolved: ResolvedOptions, writes: WriteTracker): Connection {
  const { client, ownClient, database, collection, operationTimeoutMs, where } = resolved
  let closed = false
  let ready: Promise<MongoCollectionLike> | undefined
  // The collection once init succeeded: operations then go to it directly, without waiting on `ready` first (one
  // promise and microtask hop less per hit).
  let opened: MongoCollectionLike | undefined

  const init = async (): Promise<MongoCollectionLike> => {
    if (ownClient) await ownClient.connect()
    const col = client.db(database).collection(collection)
    // Once per storage: creating indexes that already exist with the same options is a no-op on the server.
    if (resolved.createIndexes) await ensureIndexes(col, database, collection)
    opened = col
    return col
  }
  const collectionReady = (): Promise<MongoCollectionLike> => {
    if (ready === undefined) {
      const attempt = init()
      ready = attempt
      // A failed connect or index creation is retried by the next operation instead of failing forever.
      attempt.catch(() => {
        if (ready === attempt) ready = undefined
      })
    }
    return ready
  }

  const deadlines = createDeadlineQueue(operationTimeoutMs)
  const timedOut = (op: StorageOp): StorageError =>
    new StorageError(
      `mongodb ${op} on ${where} timed out after ${operationTimeoutMs} ms (operationTimeoutMs)`,
      { storage: NAME, op },
      { cause: new Error(`no answer from MongoDB within ${operationTimeoutMs} ms`) },
    )

  // One promise per operation, bounded by the shared deadline queue: no timer, race or async function of its own
  // (a hit paid a setTimeout/clearTimeout pair, a Promise.race and two async layers). The driver keeps going after
  // a timeout; its late result is ignored, but a write stays tracked until the driver is done with it.
  const run = <T, R = T>(
    op: StorageOp,
    fn: (col: MongoCollectionLike) => Promise<T>,
    order?: Order,
    map?: (value: T) => R,
  ): Promise<R> => {
    if (closed) {
      return Promise.reject(new StorageError(`mongodb storage is closed; ${op} is not possible`, { storage: NAME, op }))
    }
    return new Promise<R>((resolve, reject) => {
      let expired = false
      const deadline = deadlines.add(() => {
        expired = true
        reject(timedOut(op))
      })
      let work: Promise<T>
      try {
        work =
          opened !== undefined && order?.after === undefined
            ? fn(opened)
            : collectionReady().then(async (col) => {
                if (order?.after !== undefined) await order.after
                // A caller that already got its timeout must not see its write land later (say, after a delete
                // that succeeded in the meantime): once ready too late, skip the command instead of sending it.
                if (expired) throw new Error('operation abandoned after its timeout')
                return fn(col)
              })
      } catch (error) {
        work = Promise.reject(error)
      }
      if (order?.write !== undefined) work = writes.track(order.write[0], order.write[1], work)
      work.then(
        (value) => {
          if (!deadlines.settle(deadline)) return
          // What `map` throws (a CodecError from decoding) is the caller's error as is, not a StorageError.
          if (map === undefined) resolve(value as unknown as R)
          else {
            try {
              resolve(map(value))
            } catch (error) {
              reject(error)
            }
          }
        },
        (error: unknown) => {
          if (deadlines.settle(deadline)) reject(storageFailure(NAME, op, where, error))
        },
      )
    })
  }

  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    if (ownClient === undefined) return
    const toClose = ownClient
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        // Let a connect in flight settle first, or the driver could reopen what close just released.
        ready?.catch(() => undefined).then(() => toClose.close()) ?? toClose.close(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`close took longer than ${operationTimeoutMs} ms`)),
            operationTimeoutMs,
          )
        }),
      ])
    } catch (error) {
      throw storageFailure(NAME, 'close', where, error)
    } finally {
      clearTimeout(timer)
    }
  }

  return { run, close }
}
