import { CodecError, StorageError, type StorageOp } from '@memokit/core'
import {
  createCloseGate,
  createDeadlineQueue,
  type DeadlineQueue,
  messageOf,
  storageFailure,
} from '@memokit/core/backend'

/** Sends one command of an operation: rejects at the operation's deadline, and sends nothing after it. */
export type Call = <R>(start: () => Promise<R>) => Promise<R>

/** How an operation is ordered against the writes of its storage (memcached-storage.ts). */
export interface Order {
  /**
   * The writes it must follow: awaited within its deadline before its body runs. When the wait outlives the
   * deadline, the body's first command is refused: nothing is sent.
   */
  readonly after?: Promise<void> | undefined
  /**
   * A write: gets what settles once its body has settled and the client has answered every command the body
   * started, not at its deadline (a command that timed out for its caller may still be on its way).
   */
  readonly landed?: (landed: Promise<void>) => void
}

/** Runs one storage operation (all its round trips) within `operationTimeoutMs`. */
export type Run = <T>(op: StorageOp, body: (call: Call) => Promise<T>, valueBytes?: number, order?: Order) => Promise<T>

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
  /** Whether `close()` was called: every operation then rejects at once, without a command. */
  isClosed(): boolean
  /** Counts an operation `run` doesn't start (the hit) in flight for `close()`. Call only while open. */
  enter(): void
  /** Counts it out, once per `enter()`, after it settled: the last one out lets `close()` resolve. */
  leave(): void
  /** Refuses operations from now on; resolves once those in flight (`run`'s and the hits) settled or timed out. */
  close(): Promise<void>
}

const NAME = 'memcached'
// Taken when this module loads: the turn `countCommands` waits for is the event loop's, not a timer a test fakes
// (jest's useFakeTimers() fakes setImmediate: a delete after a refused write waited until the test moved the clock).
const nextTurn = setImmediate

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
  // the deadline the operation has rejected and no further command is sent; late replies are dropped (a write's
  // still count for its Order's `landed`). A client's error becomes a StorageError where the operation rejects, not
  // per command (a `then` per command on every hit); nothing inside an operation tells errors apart except
  // CodecError, which stays as it is either way.
  // After close() nothing reaches the client: the user may have closed it, and a call would connect it again.
  const gate = createCloseGate(NAME)
  const run = <T>(op: StorageOp, body: (call: Call) => Promise<T>, valueBytes?: number, order?: Order): Promise<T> => {
    if (gate.isClosed()) return gate.refuse(op)
    gate.enter()
    return new Promise<T>((resolve, reject) => {
      let expired = false
      // Settled first, then counted out: close() resolves after the operation's own promise.
      const deadline = deadlines.add(() => {
        expired = true
        reject(timedOut(op))
        gate.leave()
      })
      const call = callWhile(op, () => expired)
      const work = order === undefined ? begin(body, call) : ordered(order, body, call)
      work.then(
        (value) => {
          if (!deadlines.settle(deadline)) return
          resolve(value)
          gate.leave()
        },
        (error: unknown) => {
          if (!deadlines.settle(deadline)) return
          reject(fail(op, error, valueBytes))
          gate.leave()
        },
      )
    })
  }
  const { isClosed, enter, leave, close } = gate
  return { run, deadlines, timedOut, fail, callWhile, isClosed, enter, leave, close }
}

function begin<T>(body: (call: Call) => Promise<T>, call: Call): Promise<T> {
  try {
    return body(call)
  } catch (error) {
    return Promise.reject(error)
  }
}

// An ordered operation's body: run after the writes it follows, and for a write, counted until answered.
function ordered<T>(order: Order, body: (call: Call) => Promise<T>, call: Call): Promise<T> {
  const { after, landed } = order
  const commands = landed === undefined ? undefined : countCommands(call)
  const own = commands === undefined ? call : commands.call
  const work = after === undefined ? begin(body, own) : after.then(() => body(own))
  if (commands !== undefined) landed?.(commands.landed(work))
  return work
}

/** Counts the replies `call` awaits; `landed(work)` settles once `work` has settled and none is awaited. */
function countCommands(call: Call): { readonly call: Call; landed(work: Promise<unknown>): Promise<void> } {
  let pending = 0
  let settled: 'no' | 'resolved' | 'rejected' = 'no'
  let done = (): void => undefined
  const check = (): void => {
    if (settled === 'no' || pending > 0) return
    // After a failure, checked again a turn later: a speculative branch of the failed body (withState) may send its
    // next command from the reply just counted.
    if (settled === 'rejected') nextTurn(() => pending === 0 && done())
    else done()
  }
  const answered = (): void => {
    pending--
    check()
  }
  return {
    call: <R>(command: () => Promise<R>): Promise<R> => {
      const reply = call(command)
      pending++
      reply.then(answered, answered)
      return reply
    },
    landed(work) {
      const all = new Promise<void>((resolve) => {
        done = resolve
      })
      work.then(
        () => {
          settled = 'resolved'
          check()
        },
        () => {
          settled = 'rejected'
          check()
        },
      )
      return all
    },
  }
}
