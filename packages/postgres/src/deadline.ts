/** The time limit of one operation, cheaper per call than an AbortController (one object, one timer). */

/** The deadline of one operation: `expired` once it passed, when `onExpire` (one listener at most) runs. */
export interface Deadline {
  readonly expired: boolean
  /** Runs once when the deadline passes; set while a query holds a connection, cleared after. */
  onExpire: (() => void) | undefined
}

// A class, not an object literal: V8 can pretenure a literal's allocation site after a burst of concurrent
// operations, and then every later deadline, made old, kept its operation's young garbage alive through the
// young-generation collections (core's deadline queue had exactly this: packages/core/src/deadlines.ts, bench
// README "Pretenuring"). Instances made with `new` have no allocation site to pretenure.
class OperationDeadline implements Deadline {
  expired = false
  onExpire: (() => void) | undefined = undefined
}

/**
 * Runs `work` under a deadline of `ms`: resolves or rejects as `work` does, or rejects with `timeoutError()` once
 * `ms` have passed (then the deadline expires, so `work` can drop what it holds; its late result is ignored).
 */
export function withDeadline<T>(ms: number, timeoutError: () => Error, work: (deadline: Deadline) => Promise<T>) {
  return new Promise<T>((resolve, reject) => {
    const deadline = new OperationDeadline()
    const timer = setTimeout(() => {
      deadline.expired = true
      deadline.onExpire?.()
      reject(timeoutError())
    }, ms)
    work(deadline).then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
