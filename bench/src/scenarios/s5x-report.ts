// S5X's table: per row, the cached function's runs per round across the processes, whose values the callers got,
// and the callers' latency (median and p99 over rounds) against the same row's plain miss.
import { median, table } from '../harness'
import { percentile } from '../open-loop'

/** One round of one row. */
export interface RoundSample {
  /** Latencies of the plain misses (one call, one process, no contention), ms. */
  readonly plain: readonly number[]
  /** Every stampede call's latency that answered, ms. */
  readonly latencies: readonly number[]
  /** Runs of the cached function in each process. */
  readonly runs: readonly number[]
  /** Distinct computations whose values the callers received. */
  readonly values: number
  /** What went wrong: failed calls or wrong values. */
  readonly wrong: readonly string[]
  /** Latest minus earliest start of the processes' calls, ms: how simultaneous the stampede really was. */
  readonly skew: number
}

/** `4 (x7), 3 (x2)`: how often each count occurred over the rounds, most frequent first. */
function counts(xs: readonly number[]): string {
  const seen = new Map<number, number>()
  for (const x of xs) seen.set(x, (seen.get(x) ?? 0) + 1)
  return [...seen]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .map(([x, n]) => `${x} (x${n})`)
    .join(', ')
}

const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a')
const ratio = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a')

/**
 * The table. The latency figures are medians over rounds of each round's median and p99 over all calls; the
 * ratios divide them by the median plain miss of the same row (so each row is judged against its own miss).
 */
export function s5xTable(
  rows: readonly { readonly name: string; readonly note: string; readonly once?: boolean }[],
  samples: ReadonlyMap<string, readonly RoundSample[]>,
  processes: number,
): string {
  const out = rows.map((row) => {
    const s = samples.get(row.name) ?? []
    const totals = s.map((r) => r.runs.reduce((a, b) => a + b, 0))
    const plain = median(s.flatMap((r) => r.plain))
    const sorted = s.map((r) => [...r.latencies].sort((a, b) => a - b))
    const med = median(sorted.map((l) => percentile(l, 0.5)))
    const p99 = median(sorted.map((l) => percentile(l, 0.99)))
    const wrong = s.flatMap((r) => r.wrong)
    let note = row.note
    if (row.once) {
      const met = totals.every((t) => t === 1)
      note += `; target: fn once in total in every round: ${met ? 'MET' : 'MISSED'}`
    }
    return [
      row.name,
      counts(totals),
      String(Math.max(0, ...s.flatMap((r) => r.runs))),
      counts(s.map((r) => r.values)),
      ms(plain),
      ms(med),
      ratio(med / plain),
      ms(p99),
      ratio(p99 / plain),
      wrong.length === 0 ? 'all correct' : `${wrong.length} failures, e.g. ${wrong[0]}`,
      note,
    ]
  })
  const headers = [
    'contender',
    'fn runs per round',
    `most fn runs in one of the ${processes} processes`,
    'distinct values served',
    'plain miss, ms',
    'caller median, ms',
    'x plain',
    'caller p99, ms',
    'x plain',
    'results',
    'note',
  ]
  const skews = [...samples.values()].flat().map((r) => r.skew)
  const skew = `start skew between the processes (latest minus earliest first call), over all rounds: median ${ms(median(skews))} ms, max ${ms(Math.max(...skews))} ms`
  return `${table(headers, out)}\n${skew}`
}
