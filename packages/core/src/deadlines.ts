/** One bounded operation in the deadline queue; hand it back to `settle` when the operation finishes. */
export interface Deadline {
  /** When it expires, on `performance.now()`'s clock. */
  readonly at: number
  prev: Deadline | undefined
  next: Deadline | undefined
  /** Called once if the deadline passes first; dropped when the operation settles. */
  expire: (() => void) | undefined
}

/** Bounds operations that all get the same timeout, with one timer for all of them. */
export interface DeadlineQueue {
  /** Starts the clock of one operation: `expire` runs after the timeout unless `settle` comes first. */
  add(expire: () => void): Deadline
  /**
   * The operation finished: it leaves the queue at once, so nothing it referenced outlives it. Returns `false` when
   * its deadline had already passed (or it was settled before).
   */
  settle(deadline: Deadline): boolean
  /**
   * `start(deadline)` bounded: started once its deadline is (so the work can see how long it has: `deadline.at`),
   * its value, or `failed(error)` when it rejects or throws, or `timedOut()` when the deadline passes first (a late
   * reply is then ignored, and its rejection handled, so nothing leaks as an unhandled rejection).
   */
  bound<T>(
    start: (deadline: Deadline) => PromiseLike<T> | T,
    timedOut: () => unknown,
    failed: (error: unknown) => unknown,
  ): Promise<T>
}

/**
 * A class, not an object literal, on purpose. V8 gives each object literal an allocation site, and moves a site
 * whose objects outlive a young-generation collection to allocating them in the old generation ("pretenuring").
 * A burst of concurrent misses (a cold start) keeps every item of the burst alive at a collection, and that could
 * pretenure this site for good: then every hit's item was made old, and about all of each hit's garbage (its
 * closures, reply and decoded value) survived the young collections with it. bench R1 measured a Redis hit at
 * 64 in flight 2.3x slower in such processes (4 MB kept per scavenge instead of 0.2 MB; bench README,
 * "Pretenuring"). Instances made with `new` stayed young in every run.
 */
class Item implements Deadline {
  next: Deadline | undefined = undefined
  constructor(
    readonly at: number,
    public prev: Deadline | undefined,
    public expire: (() => void) | undefined,
  ) {}
}

/**
 * The deadline queue of one storage's operations, each bounded by `timeoutMs` (ms; the backends pass their
 * `operationTimeoutMs`, default 1000 ms). Shared by the network backends (Redis, MongoDB, memcached).
 *
 * Every operation gets the same timeout, so deadlines arrive in order: a doubly linked list in start order, one
 * timer for its head. A settled operation unlinks itself right away. That matters more than the timer: an
 * operation kept in the queue until its deadline (a second by default) would keep its closures, and through them
 * its reply, alive through several young-generation collections, which then copy and promote all of it; on a
 * Redis hit that garbage collection cost more than the round trip. A setTimeout/clearTimeout pair or
 * node-redis' AbortSignal.timeout per command has the same problem, plus a timer each.
 */
export function createDeadlineQueue(timeoutMs: number): DeadlineQueue {
  let head: Deadline | undefined
  let tail: Deadline | undefined
  let timer: ReturnType<typeof setTimeout> | undefined

  const unlink = (item: Deadline): void => {
    const { prev, next } = item
    if (prev === undefined) head = next
    else prev.next = next
    if (next === undefined) tail = prev
    else next.prev = prev
    item.prev = undefined
    item.next = undefined
    item.expire = undefined
  }
  // The timer is left running when its operation settles: it fires at most once per timeout while busy, then
  // expires what is due and re-arms for the new head, or stops when the queue is empty.
  const tick = (): void => {
    timer = undefined
    const now = performance.now()
    while (head !== undefined && head.at <= now) {
      const { expire } = head
      unlink(head)
      expire?.()
    }
    if (head !== undefined) arm(head.at - now)
  }
  const arm = (wait: number): void => {
    timer = setTimeout(tick, Math.max(0, wait))
    // Waiting for a deadline must not keep the process alive; the pending I/O does that if it matters.
    timer.unref()
  }
  return {
    add(expire) {
      const item = new Item(performance.now() + timeoutMs, tail, expire)
      if (tail === undefined) head = item
      else tail.next = item
      tail = item
      if (timer === undefined) arm(timeoutMs)
      return item
    },
    settle(item) {
      // Expired (already unlinked) or settled before: nothing to do.
      if (item.expire === undefined) return false
      unlink(item)
      return true
    },
    bound(start, timedOut, failed) {
      return new Promise((resolve, reject) => {
        const deadline = this.add(() => reject(timedOut()))
        let work: unknown
        try {
          work = start(deadline)
        } catch (error) {
          work = Promise.reject(error)
        }
        Promise.resolve(work).then(
          (value) => {
            if (this.settle(deadline)) resolve(value as never)
          },
          (error: unknown) => {
            if (this.settle(deadline)) reject(failed(error))
          },
        )
      })
    },
  }
}
