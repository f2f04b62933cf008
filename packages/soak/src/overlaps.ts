/**
 * The soak's count of `fn` runs per function: how many fills (runs that overlapped no other run of the key, in any
 * process), and the overlapping runs that neither an invalidation of the key nor a chaos step explains, which
 * distributed single-flight should leave none of.
 */
import type { FnName, Run } from './functions'
import type { ChaosRecord, InvalidationRecord, WorkerRecords } from './records'

/** Runs of `fn` for one function: how many, in how many fills (runs that did not overlap another run of the key). */
export interface RunStats {
  readonly runs: number
  readonly fills: number
  /** Runs that started while another run of the same key ran (in any process). */
  readonly overlapping: number
  /** Of those, the ones no invalidation of the key and no chaos step can explain. */
  readonly unexplained: number
  /** A few of them: the earlier run and the overlapping one. */
  readonly examples: readonly string[]
}

/** How long before its `fn` started a background refresh may have taken its lease (after the stale hit), ms. */
const BACKGROUND_LEAD_MS = 250

/**
 * When the call that started each run started: the earliest call of its process that got its value and began
 * before `fn` did. Background refreshes have none.
 */
export function originsOf(workers: readonly WorkerRecords[], runs: ReadonlyMap<string, Run>): Map<string, number> {
  const origins = new Map<string, number>()
  for (const w of workers) {
    for (const call of w.calls) {
      const run = call.r === undefined ? undefined : runs.get(call.r)
      if (run === undefined || !run.r.startsWith(`${call.w}:`) || call.s > run.s) continue
      origins.set(run.r, Math.min(origins.get(run.r) ?? Infinity, call.s))
    }
  }
  return origins
}

/** Runs per function: fills, and overlapping runs with and without an invalidation or chaos step to explain them. */
export function runStats(
  runs: readonly Run[],
  origins: ReadonlyMap<string, number>,
  invalidations: readonly InvalidationRecord[],
  chaos: readonly ChaosRecord[],
  slackMs: number,
): Record<FnName, RunStats> {
  const stats = {} as Record<FnName, RunStats>
  for (const f of ['plain', 'dist', 'swr'] as const) {
    const mine = runs.filter((run) => run.f === f).sort((x, y) => x.s - y.s)
    const byKey = new Map<number, Run[]>()
    for (const run of mine) byKey.set(run.k, [...(byKey.get(run.k) ?? []), run])
    let overlapping = 0
    let unexplained = 0
    const examples: string[] = []
    for (const [k, list] of byKey) {
      let open: Run | undefined
      for (const run of list) {
        if (open === undefined || open.e < run.s) {
          open = run
          continue
        }
        overlapping++
        // The earlier run's lease was taken before its `fn` started: from the start of the call that triggered it.
        const from = origins.get(open.r) ?? open.s - BACKGROUND_LEAD_MS
        const to = run.s
        const invalidated = invalidations.some(
          (inv) => (inv.kind !== 'delete' || inv.k === k) && inv.start <= to && (inv.done ?? Infinity) >= from,
        )
        const crashed = chaos.some((c) => c.killed <= to && c.restarted + slackMs >= from)
        if (!invalidated && !crashed && ++unexplained <= 3) {
          examples.push(`${JSON.stringify(open)} then ${JSON.stringify(run)}`)
        }
        if (run.e > open.e) open = run
      }
    }
    stats[f] = { runs: mine.length, fills: mine.length - overlapping, overlapping, unexplained, examples }
  }
  return stats
}
