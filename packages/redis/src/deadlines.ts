/** One bounded operation: set `settled` when it finishes so the deadline queue skips it. */
export interface Deadline {
  settled: boolean
  readonly at: number
  readonly expire: () => void
}

/**
 * Bounds many operations with one timer. Every operation gets the same timeout, so deadlines arrive in order and
 * a FIFO suffices: adding is a push, finishing is a flag. This replaces a setTimeout/clearTimeout pair (or
 * node-redis' AbortSignal.timeout) per command, which costs more than the Redis round trip on a hit.
 */
export function createDeadlineQueue(timeoutMs: number): { add(expire: () => void): Deadline } {
  let queue: Deadline[] = []
  let head = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  const arm = (): void => {
    while (head < queue.length && (queue[head] as Deadline).settled) head++
    if (head === queue.length) {
      queue = []
      head = 0
      return
    }
    if (head > 1024) {
      queue = queue.slice(head)
      head = 0
    }
    const wait = Math.max(0, (queue[head] as Deadline).at - performance.now())
    timer = setTimeout(tick, wait)
    // Waiting for a deadline must not keep the process alive; the pending I/O does that if it matters.
    timer.unref()
  }
  const tick = (): void => {
    timer = undefined
    const now = performance.now()
    while (head < queue.length) {
      const item = queue[head] as Deadline
      if (!item.settled) {
        if (item.at > now) break
        item.settled = true
        item.expire()
      }
      head++
    }
    arm()
  }
  return {
    add(expire) {
      const item: Deadline = { settled: false, at: performance.now() + timeoutMs, expire }
      queue.push(item)
      if (timer === undefined) arm()
      return item
    },
  }
}
