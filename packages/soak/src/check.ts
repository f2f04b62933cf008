/**
 * The soak's verdict on every returned value, against the truth's version history.
 *
 * A value of version `v` of key `k` returned by a call that ran from `s` to `e` is right when
 * 1. `v` existed before the call ended (update `v` began before `e`), and
 * 2. either the invalidation that followed update `v+1` had not completed when the call started (the staleness
 *    window of a cache invalidated after each write: until then `v` may be served, fresh from `fn` or from the
 *    cache), or the call joined the computation that produced the value in its own process while that computation
 *    was still running (callers that join a computation get what it read; an invalidation elsewhere can't reach
 *    them: counted as `lateJoins`), or the call joined (outcome `joined`) an operation of its own process that an
 *    earlier call of the same key started before that invalidation and was still waiting on (a read or a lease
 *    wait whose reply predates the invalidation: the same kind of join, also counted as `lateJoins`), or
 * 3. (two tiers only, `boundMs` > 0) that invalidation completed at most `boundMs` before the call started: `v` was
 *    the truth under rule 2 at some moment in `[s - boundMs, e]`. An L1 copy may be served that long after the
 *    invalidation its bus message should have dropped it for (`maxL1Age`, the tier's stated bound).
 * 4. (`bestEffortFence` only: memcached, whose fenced write is two keys) the value's run had its result refused by
 *    the fence (`lease-lost`) and the call started before its worker heard so: memcached shows the refused write
 *    until its writer has deleted it again, which ends before that event (docs/many-replicas.md). Counted apart.
 * Anything else is wrong: a value from an unknown run, of another key, or served from the cache after the
 * invalidation that should have removed it (the stale write fencing prevents; or a tier's L1 copy past its bound).
 *
 * How long after that invalidation each value was served is its staleness: 0 without tiers unless wrong; with a
 * working bus, the bus's delivery time; the report gives its distribution.
 */
import type { FnName, Run } from './functions'
import { originsOf, type RunStats, runStats } from './overlaps'
import type { CallRecord, ChaosRecord, UpdateRecord, WorkerRecords, WriterRecords } from './records'

export type { RunStats } from './overlaps'

/** A wrong value, with what the checker knew about it. */
export interface Wrong {
  readonly call: CallRecord
  readonly why: string
}

/** How long after its invalidation a value was served, over the calls that got such a value (late joins aside). */
export interface Staleness {
  /** The bound allowed (rule 3), ms; 0 without tiers. */
  readonly boundMs: number
  /** Calls whose value's successor had been invalidated before they started (within the bound or not). */
  readonly count: number
  /** Percentiles and maximum of `s - invalidated` over those calls, ms (0 when there are none). */
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/** The checker's findings. */
export interface Verdict {
  readonly calls: number
  readonly errors: number
  readonly wrong: number
  readonly wrongSamples: readonly Wrong[]
  readonly lateJoins: number
  /** Calls answered from a write the fence refused, inside its window (rule 4; memcached only). */
  readonly fenceWindow: number
  readonly staleness: Staleness
  /** Calls per memokit outcome (hit, miss, joined, waited, stale, bypass...). */
  readonly outcomes: Readonly<Record<string, number>>
  readonly runs: Readonly<Record<FnName, RunStats>>
  readonly errorSamples: readonly string[]
}

type History = Map<number, UpdateRecord[]>

/** What the judge needs besides the call. */
interface Evidence {
  readonly history: History
  readonly runs: ReadonlyMap<string, Run>
  readonly settled: ReadonlyMap<string, number>
  /** Per `<worker> <run>`: the start and end of every call that got that run's value there. */
  readonly shared: ReadonlyMap<string, readonly (readonly [number, number])[]>
  readonly boundMs: number
  readonly bestEffortFence: boolean
}

/** A call's verdict: right (with its staleness when past the invalidation), a late join, or wrong and why. */
type Judgement =
  | { readonly is: 'right'; readonly stale?: number }
  | { readonly is: 'late' }
  | { readonly is: 'window' }
  | { readonly is: 'wrong'; readonly why: string; readonly stale?: number }

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

/** Whether the call's value is right (rules 1-3 of the header). */
function judge(call: CallRecord, evidence: Evidence): Judgement {
  const { history, runs, settled, boundMs } = evidence
  const { k, v, r } = call
  const wrong = (why: string, stale?: number): Judgement => ({
    is: 'wrong',
    why,
    ...(stale === undefined ? {} : { stale }),
  })
  if (v === undefined || r === undefined || call.vk !== k)
    return wrong(`not a value of key ${k}: ${JSON.stringify(call)}`)
  const run = runs.get(r)
  if (run === undefined) return wrong(`run ${r} is unknown`)
  if (run.v !== v || run.k !== k) return wrong(`run ${r} read ${run.k}@${run.v}, the call got ${k}@${v}`)
  const versions = history.get(k) ?? [{ k, v: 0, b: 0, a: 0, i: 0 }]
  const own = versions[v]
  if (own === undefined) return wrong(`version ${v} of key ${k} was never written`)
  if (own.b > call.e) return wrong(`version ${v} was written after the call ended`)
  const next = versions[v + 1]
  if (next === undefined || next.i === undefined || next.i >= call.s) return { is: 'right' }
  // Joined in its own process before the computation's callers were answered (the earliest answer it gave there).
  const answered = settled.get(`${call.w} ${r}`)
  if (answered !== undefined && call.s <= answered) return { is: 'late' }
  // Joined what an earlier call of its process, started before the invalidation, was still waiting for.
  if (call.o === 'joined' && joinedEarlier(evidence.shared.get(`${call.w} ${r}`), next.i, call.s)) return { is: 'late' }
  const stale = call.s - next.i
  if (stale <= boundMs) return { is: 'right', stale }
  if (evidence.bestEffortFence && run.l !== undefined && call.s <= run.l) return { is: 'window' }
  const past = boundMs > 0 ? `, past the tier's bound of ${boundMs} ms` : ''
  return wrong(
    `version ${v + 1} was invalidated at ${next.i}, ${stale} ms before the call started${past} (${call.o ?? 'no outcome'}); the run: ${JSON.stringify(run)}`,
    stale,
  )
}

/**
 * When each computation's callers in its own process were answered: the first answer to a call that started before
 * `fn` ended (so could not have been a hit on its result). Background refreshes have none.
 */
function settledOf(workers: readonly WorkerRecords[], runs: ReadonlyMap<string, Run>): Map<string, number> {
  const settled = new Map<string, number>()
  for (const w of workers) {
    for (const call of w.calls) {
      const run = call.r === undefined ? undefined : runs.get(call.r)
      if (run === undefined || !run.r.startsWith(`${call.w}:`) || call.s > run.e) continue
      const id = `${call.w} ${run.r}`
      settled.set(id, Math.min(settled.get(id) ?? Infinity, call.e))
    }
  }
  return settled
}

/** Whether one of `calls` (start, end) started before `invalidated` and was still running at `start`. */
function joinedEarlier(
  calls: readonly (readonly [number, number])[] | undefined,
  invalidated: number,
  start: number,
): boolean {
  return calls?.some(([s, e]) => s < invalidated && e >= start) ?? false
}

/** Per `<worker> <run>`, the (start, end) of the calls that got that run's value in that worker. */
function sharedOf(workers: readonly WorkerRecords[]): Map<string, (readonly [number, number])[]> {
  const shared = new Map<string, (readonly [number, number])[]>()
  for (const w of workers) {
    for (const call of w.calls) {
      if (call.r === undefined) continue
      const id = `${call.w} ${call.r}`
      const list = shared.get(id)
      if (list === undefined) shared.set(id, [[call.s, call.e]])
      else list.push([call.s, call.e])
    }
  }
  return shared
}

/** The distribution of `stales` (ms), nearest-rank percentiles. */
function staleness(stales: number[], boundMs: number): Staleness {
  const sorted = [...stales].sort((x, y) => x - y)
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0
  return { boundMs, count: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1] ?? 0 }
}

/**
 * Checks every call of every worker against the writer's history. `slackMs`: how long a crash explains overlaps.
 * `boundMs`: how long after its invalidation a value may still be served (rule 3; 0 without tiers).
 */
export function check(
  workers: readonly WorkerRecords[],
  writer: WriterRecords,
  chaos: readonly ChaosRecord[],
  slackMs: number,
  boundMs = 0,
  bestEffortFence = false,
): Verdict {
  const runs = new Map<string, Run>()
  for (const w of workers) for (const run of w.runs) runs.set(run.r, run)
  const evidence: Evidence = {
    history: historyOf(writer),
    runs,
    settled: settledOf(workers, runs),
    shared: sharedOf(workers),
    boundMs,
    bestEffortFence,
  }
  const outcomes: Record<string, number> = {}
  const wrongSamples: Wrong[] = []
  const errorSamples: string[] = []
  const stales: number[] = []
  let calls = 0
  let errors = 0
  let lateJoins = 0
  let fenceWindow = 0
  for (const call of workers.flatMap((w) => w.calls)) {
    calls++
    const outcome = call.o ?? 'unobserved'
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
    if (call.err !== undefined) {
      errors++
      if (errorSamples.length < 5) errorSamples.push(`${call.w} ${call.f}(${call.k}): ${call.err}`)
      continue
    }
    const judgement = judge(call, evidence)
    if (judgement.is === 'late') lateJoins++
    else if (judgement.is === 'window') fenceWindow++
    else if (judgement.stale !== undefined) stales.push(judgement.stale)
    if (judgement.is === 'wrong') wrongSamples.push({ call, why: judgement.why })
  }
  return {
    calls,
    errors,
    wrong: wrongSamples.length,
    wrongSamples: wrongSamples.slice(0, 10),
    lateJoins,
    fenceWindow,
    staleness: staleness(stales, boundMs),
    outcomes,
    runs: runStats(
      workers.flatMap((w) => w.runs),
      originsOf(workers, runs),
      writer.invalidations,
      chaos,
      slackMs,
    ),
    errorSamples,
  }
}
