/**
 * The soak's verdict on every returned value, against the truth's version history.
 *
 * A value of version `v` of key `k` returned by a call that ran from `s` to `e` is right when
 * 1. `v` existed before the call ended (update `v` began before `e`), and
 * 2. either the invalidation that followed update `v+1` had not completed when the call started (the staleness
 *    window of a cache invalidated after each write: until then `v` may be served, fresh from `fn` or from the
 *    cache), or the call joined the computation that produced the value in its own process while that computation
 *    was still running (callers that join a computation get what it read; an invalidation elsewhere can't reach
 *    them: counted as `lateJoins`).
 * Anything else is wrong: a value from an unknown run, of another key, or served from the cache after the
 * invalidation that should have removed it (the stale write fencing prevents).
 */
import type { FnName, Run } from './functions'
import type { CallRecord, ChaosRecord, InvalidationRecord, UpdateRecord, WorkerRecords, WriterRecords } from './records'

/** A wrong value, with what the checker knew about it. */
export interface Wrong {
  readonly call: CallRecord
  readonly why: string
}

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

/** The checker's findings. */
export interface Verdict {
  readonly calls: number
  readonly errors: number
  readonly wrong: number
  readonly wrongSamples: readonly Wrong[]
  readonly lateJoins: number
  /** Calls per memokit outcome (hit, miss, joined, waited, stale, bypass...). */
  readonly outcomes: Readonly<Record<string, number>>
  readonly runs: Readonly<Record<FnName, RunStats>>
  readonly errorSamples: readonly string[]
}

type History = Map<number, UpdateRecord[]>

/** How long before its `fn` started a background refresh may have taken its lease (after the stale hit), ms. */
const BACKGROUND_LEAD_MS = 250

function historyOf(writer: WriterRecords): History {
  const history: History = new Map()
  for (const u of writer.updates) {
    let versions = history.get(u.k)
    if (versions === undefined) {
      // Version 0 is every key's truth before the run.
      versions = [{ k: u.k, v: 0, b: 0, a: 0, i: 0 }]
      history.set(u.k, versions)
    }
    versions[u.v] = u
  }
  return history
}

/** Why the call's value is wrong, or `undefined` when it is right; `late` is told when only the join rule holds. */
function judge(
  call: CallRecord,
  history: History,
  runs: Map<string, Run>,
  settled: Map<string, number>,
): string | 'late' | undefined {
  const { k, v, r } = call
  if (v === undefined || r === undefined || call.vk !== k) return `not a value of key ${k}: ${JSON.stringify(call)}`
  const run = runs.get(r)
  if (run === undefined) return `run ${r} is unknown`
  if (run.v !== v || run.k !== k) return `run ${r} read ${run.k}@${run.v}, the call got ${k}@${v}`
  const versions = history.get(k) ?? [{ k, v: 0, b: 0, a: 0, i: 0 }]
  const own = versions[v]
  if (own === undefined) return `version ${v} of key ${k} was never written`
  if (own.b > call.e) return `version ${v} was written after the call ended`
  const next = versions[v + 1]
  if (next === undefined || next.i === undefined || next.i >= call.s) return undefined
  // Joined in its own process before the computation's callers were answered (the earliest answer it gave there).
  const answered = settled.get(`${call.w} ${r}`)
  if (answered !== undefined && call.s <= answered) return 'late'
  return `version ${v + 1} was invalidated at ${next.i}, ${call.s - next.i} ms before the call started (${call.o ?? 'no outcome'}); the run: ${JSON.stringify(run)}`
}

/** Runs per function: fills, and overlapping runs with and without an invalidation or chaos step to explain them. */
function runStats(
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

/** Checks every call of every worker against the writer's history. `slackMs`: how long a crash explains overlaps. */
export function check(
  workers: readonly WorkerRecords[],
  writer: WriterRecords,
  chaos: readonly ChaosRecord[],
  slackMs: number,
): Verdict {
  const history = historyOf(writer)
  const runs = new Map<string, Run>()
  for (const w of workers) for (const run of w.runs) runs.set(run.r, run)
  // When each computation's callers in its own process were answered: the first answer to a call that started
  // before `fn` ended (so could not have been a hit on its result). Background refreshes have none.
  const settled = new Map<string, number>()
  for (const w of workers) {
    for (const call of w.calls) {
      const run = call.r === undefined ? undefined : runs.get(call.r)
      if (run === undefined || !run.r.startsWith(`${call.w}:`) || call.s > run.e) continue
      const id = `${call.w} ${run.r}`
      settled.set(id, Math.min(settled.get(id) ?? Infinity, call.e))
    }
  }
  // When the call that started each run started (the earliest call of its process that got its value and began
  // before `fn` did); background refreshes have none.
  const origins = new Map<string, number>()
  for (const w of workers) {
    for (const call of w.calls) {
      const run = call.r === undefined ? undefined : runs.get(call.r)
      if (run === undefined || !run.r.startsWith(`${call.w}:`) || call.s > run.s) continue
      origins.set(run.r, Math.min(origins.get(run.r) ?? Infinity, call.s))
    }
  }
  const outcomes: Record<string, number> = {}
  const wrongSamples: Wrong[] = []
  const errorSamples: string[] = []
  let calls = 0
  let errors = 0
  let wrong = 0
  let lateJoins = 0
  for (const w of workers) {
    for (const call of w.calls) {
      calls++
      const outcome = call.o ?? 'unobserved'
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
      if (call.err !== undefined) {
        errors++
        if (errorSamples.length < 5) errorSamples.push(`${call.w} ${call.f}(${call.k}): ${call.err}`)
        continue
      }
      const why = judge(call, history, runs, settled)
      if (why === 'late') lateJoins++
      else if (why !== undefined) {
        wrong++
        if (wrongSamples.length < 10) wrongSamples.push({ call, why })
      }
    }
  }
  const allRuns = workers.flatMap((w) => w.runs)
  return {
    calls,
    errors,
    wrong,
    wrongSamples,
    lateJoins,
    outcomes,
    runs: runStats(allRuns, origins, writer.invalidations, chaos, slackMs),
    errorSamples,
  }
}
