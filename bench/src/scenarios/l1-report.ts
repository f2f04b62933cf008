// L1's tables: per rate, each row's medians over rounds, and the issue's target.
import { median, table } from '../harness'
import type { Live, Settings } from './l1'

/** A row whose requests started this late (p99) had a saturated event loop: its latencies are queueing, mostly. */
const SATURATED_LAG_MS = 2

/** One row's figures for one slice. */
export interface Slice {
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly callsPerRequest: number
  readonly lagP99: number
  readonly errors: number
  readonly firstError: unknown
}

const ms = (v: number): string => (!Number.isFinite(v) ? 'n/a' : v >= 10 ? v.toFixed(1) : v.toFixed(2))
// Late starts mean the process (this row's CPU per request) or the machine could not keep up: queueing, mostly.
const saturated = (lag: number): string => (lag > SATURATED_LAG_MS ? 'SATURATED (see generator lag)' : '')
const describeError = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e)
  const code = (e as { code?: unknown }).code
  return `${e.name}${code === undefined ? '' : ` ${String(code)}`}${e.message ? `: ${e.message.slice(0, 120)}` : ''}`
}
const med = (xs: readonly Slice[], f: (x: Slice) => number): number => median(xs.map(f))

/** The table of one arrival rate: each row's medians over rounds (latencies in ms), then the target line (full runs). */
export function rateTable(rate: number, s: Settings, figures: Map<Live, Slice[]>, quick: boolean): string[] {
  const rows: string[][] = []
  for (const [l, xs] of figures) {
    const p99s = xs.map((x) => x.p99)
    const errors = xs.reduce((a, x) => a + x.errors, 0)
    const firstError = xs.find((x) => x.errors > 0)?.firstError
    const errNote = errors > 0 ? `${errors} errors (first: ${describeError(firstError)})` : ''
    rows.push([
      l.row.name,
      ms(med(xs, (x) => x.p50)),
      ms(med(xs, (x) => x.p99)),
      ms(med(xs, (x) => x.p999)),
      `${ms(Math.min(...p99s))}-${ms(Math.max(...p99s))}`,
      med(xs, (x) => x.callsPerRequest).toFixed(3),
      ms(med(xs, (x) => x.lagP99)),
      [l.row.note, errNote, saturated(med(xs, (x) => x.lagP99)), l.inst.status?.()].filter(Boolean).join('; '),
    ])
  }
  const requests = Math.round((rate * s.measureMs) / 1000)
  return [
    `\n### L1 at ${rate} requests/s (~${requests} recorded per slice, medians of ${s.rounds} round${s.rounds > 1 ? 's' : ''})`,
    table(
      [
        'contender',
        'p50 ms',
        'p99 ms',
        'p99.9 ms',
        'p99 range',
        'origin calls/request',
        'generator lag p99 ms',
        'note',
      ],
      rows,
    ),
    ...(quick ? [] : [target(figures)]),
  ]
}

// Every row de-duplicates and expires at the same TTL, so origin calls differ by chance within about 1%.
const tie = (ratio: number): string => (Math.abs(ratio - 1) < 0.01 ? ', within 1%: a tie, whichever side' : '')

/** Issue 14's target: the best memokit row has the lowest p99 and the fewest origin calls of all rows. */
function target(figures: Map<Live, Slice[]>): string {
  const best = (mine: boolean, f: (x: Slice) => number): [string, number] => {
    let found: [string, number] = ['none', Number.POSITIVE_INFINITY]
    for (const [l, xs] of figures) {
      const v = med(xs, f)
      if ((l.row.memokit === true) === mine && v < found[1]) found = [l.row.name, v]
    }
    return found
  }
  const [mkP99, mkP99v] = best(true, (x) => x.p99)
  const [peerP99, peerP99v] = best(false, (x) => x.p99)
  const [mkCalls, mkCallsV] = best(true, (x) => x.callsPerRequest)
  const [peerCalls, peerCallsV] = best(false, (x) => x.callsPerRequest)
  const met = mkP99v < peerP99v && mkCallsV < peerCallsV
  return [
    `target (lowest p99 and fewest origin calls of all rows): ${met ? 'MET' : 'MISSED'}.`,
    `p99: ${mkP99} ${ms(mkP99v)} ms vs best peer ${peerP99} ${ms(peerP99v)} ms (${(mkP99v / peerP99v).toFixed(3)}x);`,
    `origin calls/request: ${mkCalls} ${mkCallsV.toFixed(3)} vs best peer ${peerCalls} ${peerCallsV.toFixed(3)} (${(mkCallsV / peerCallsV).toFixed(3)}x${tie(mkCallsV / peerCallsV)})`,
  ].join(' ')
}
