import { StorageError, type StorageOp } from '@memokit/core'
import { NAME, type Run } from './run'

/** What lets a storage close: operations issued before `close()` finish, later ones never reach the Keyv. */
export interface Closing {
  /** `run` that rejects at once after `close()`, and that `close()` waits for. */
  guard(run: Run): Run
  /** Refuses operations from now on; resolves once those in flight have settled. */
  close(): Promise<void>
}

export function createClosing(): Closing {
  let closed = false
  let inflight = 0
  const drained: (() => void)[] = []
  const settle = (): void => {
    if (--inflight === 0 && drained.length > 0) for (const resolve of drained.splice(0)) resolve()
  }
  return {
    guard: (run) => (op: StorageOp, body, order) => {
      if (closed) {
        // Not a call on the Keyv: once the user disconnected it, any call would connect its store again.
        return Promise.reject(
          new StorageError(`keyv ${op} after close(): this storage is closed`, { storage: NAME, op }),
        )
      }
      inflight++
      const work = run(op, body, order)
      work.then(settle, settle)
      return work
    },
    close() {
      closed = true
      if (inflight === 0) return Promise.resolve()
      return new Promise<void>((resolve) => drained.push(resolve))
    },
  }
}
