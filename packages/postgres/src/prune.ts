/** The background job that deletes expired rows, a bounded batch at a time. */

/** Statements per round at most: a round deletes at most this many batches. */
export const MAX_BATCHES_PER_ROUND = 10

/** The pruning job of one storage. */
export interface Pruner {
  /** Starts the job if it isn't running yet (called by every operation: a storage never used never prunes). */
  start(): void
  /** Stops the job; settles once a round in flight has. */
  stop(): Promise<void>
}

/**
 * A job that, every `intervalMs` (plus 0-10% so replicas drift apart), runs `pruneOnce` (which deletes at most
 * `batchSize` rows and resolves to how many it deleted) until a batch comes back short, at most
 * {@link MAX_BATCHES_PER_ROUND} times. Rounds never overlap; a failed round is left to the next one (an outage
 * is reported by the operations themselves). The timer is unref'd: it never keeps the process alive.
 */
export function createPruner(intervalMs: number, batchSize: number, pruneOnce: () => Promise<number>): Pruner {
  let timer: NodeJS.Timeout | undefined
  let round: Promise<void> | undefined
  let started = false
  let stopped = false

  const schedule = (): void => {
    if (stopped) return
    timer = setTimeout(tick, intervalMs * (1 + Math.random() * 0.1))
    timer.unref()
  }
  const tick = (): void => {
    timer = undefined
    round = (async () => {
      for (let batch = 0; batch < MAX_BATCHES_PER_ROUND && !stopped; batch++) {
        if ((await pruneOnce()) < batchSize) return
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        round = undefined
        schedule()
      })
  }

  return {
    start() {
      if (started || stopped || intervalMs === 0) return
      started = true
      schedule()
    },
    async stop() {
      stopped = true
      clearTimeout(timer)
      await round
    },
  }
}
