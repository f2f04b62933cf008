import { StorageError, type StorageOp } from './errors'

/** What a storage does when its in-flight count leaves or returns to zero. Both optional. */
export interface CloseGateHooks {
  /** Runs when an operation starts while none was in flight (0 -> 1), before that operation's work. */
  readonly busy?: (() => void) | undefined
  /**
   * Runs when the last operation in flight settles (1 -> 0), before `close()`'s promise resolves. Not run by
   * `close()` itself when nothing is in flight: the storage was idle already.
   */
  readonly idle?: (() => void) | undefined
}

/**
 * The "closed / in flight / drained" state of one storage: operations issued before `close()` finish first, later
 * ones are refused at once (without touching the client: the user may have closed it, and a call could connect it
 * again), and `close()` resolves once the in-flight count is zero.
 *
 * The caller checks and counts in separate steps (`isClosed()`, then `enter()`, later `leave()`), so a hot path
 * pays no closure, promise or `then` of its own: `leave` is one function made per gate, to pass as a callback.
 */
export interface CloseGate {
  /** Whether `close()` was called. */
  isClosed(): boolean
  /** Operations counted by `enter()` and not yet by `leave()`. */
  inflight(): number
  /**
   * The rejection of an operation issued after `close()`: a StorageError
   * `<storage> <op> after close(): this storage is closed`, with `{ storage, op }`.
   */
  refuse(op: StorageOp): Promise<never>
  /** Counts one operation in flight; runs the `busy` hook when it is the only one. Call only while open. */
  enter(): void
  /**
   * Counts one operation out, once per `enter()`, arguments ignored (so it can be a `then` handler). When it was
   * the last: runs the `idle` hook, then resolves `close()`.
   */
  readonly leave: (..._: unknown[]) => void
  /**
   * Refuses operations from now on; resolves once those in flight have left (at once when none is). Calling it
   * again returns the same promise.
   */
  close(): Promise<void>
}

/**
 * The close gate of a storage named `storage` (as in its errors: `'redis'`, `'memcached'`, `'keyv'`), with optional
 * busy/idle hooks (none by default). Shared by the backends so each doesn't keep its own copy of this bookkeeping.
 */
export function createCloseGate(storage: string, hooks?: CloseGateHooks): CloseGate {
  let closed = false
  let inflight = 0
  let closing: Promise<void> | undefined
  let drained: (() => void) | undefined
  const busy = hooks?.busy
  const idle = hooks?.idle

  return {
    isClosed: () => closed,
    inflight: () => inflight,
    refuse: (op) =>
      Promise.reject(new StorageError(`${storage} ${op} after close(): this storage is closed`, { storage, op })),
    enter() {
      if (inflight++ === 0 && busy !== undefined) busy()
    },
    leave() {
      if (--inflight > 0) return
      if (idle !== undefined) idle()
      if (drained !== undefined) {
        const resolve = drained
        drained = undefined
        resolve()
      }
    },
    close() {
      closed = true
      closing ??=
        inflight === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              drained = resolve
            })
      return closing
    },
  }
}
