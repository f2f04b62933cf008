/** The soak report as text, for the CLI and for test failure messages. */
import type { SoakReport } from './run'

const pct = (n: number, of: number) => (of === 0 ? '0%' : `${((100 * n) / of).toFixed(1)}%`)

/** The tiered mode's lines: the bound, the bus kills, how much the L1 answered, and how stale values were served. */
function tierLines(report: SoakReport): string[] {
  const o = report.options
  const st = report.staleness
  if (o.backend !== 'redis-tiered') return []
  const hits = report.outcomes.hit ?? 0
  const reads = report.l2Reads ?? { asked: 0, found: 0 }
  return [
    `  tier: maxL1Age ${o.brokenTier ? '30000 ms (BROKEN: each process on a channel of its own)' : `${o.maxL1AgeMs} ms`}, bound checked ${st.boundMs} ms; bus kills ${report.busKills.length} (CLIENT KILL TYPE pubsub, connections killed ${report.busKills.map((b) => b.killed).join(', ') || '-'})`,
    `  L2 reads ${reads.asked} (entries found ${reads.found}) for ${report.calls} calls: the L1 answered at least ${Math.max(0, hits - reads.found)} of ${hits} hits`,
    `  served after the invalidation of their successor: ${st.count} calls (${pct(st.count, report.calls)}); staleness p50 ${st.p50} ms, p99 ${st.p99} ms, max ${st.max} ms`,
  ]
}

/** A few lines saying what ran and what it found; wrong values and errors come with samples. */
export function formatReport(report: SoakReport): string {
  const o = report.options
  const hits = (report.outcomes.hit ?? 0) + (report.outcomes.stale ?? 0)
  const lines = [
    `memokit soak on ${o.backend}: ${(report.elapsedMs / 1000).toFixed(1)} s, ${o.workers} workers x ${o.loops} loops, ${o.keys} keys, ttl ${o.ttlMs} ms, fn ${o.fnMs[0]}-${o.fnMs[1]} ms, seed ${o.seed} (set-up ${(report.setupMs / 1000).toFixed(1)} s)`,
    `  leases ${report.leases ? 'on' : 'off'}, singleFlight 'distributed' ${report.distributed ? 'on (dist, swr)' : 'off'}`,
    ...report.notes.map((note) => `  note: ${note}`),
    `  chaos: ${report.chaos.length} x ${report.crash} then back (down ${report.chaos.map((c) => c.restarted - c.killed).join(', ') || '-'} ms${report.chaos.map((c) => `, at ${c.killed}`).join('')})`,
    ...report.chaos.flatMap((c) => (c.note === undefined ? [] : [`    ${c.note}`])),
    ...tierLines(report),
    `  calls ${report.calls}, hits ${hits} (${pct(hits, report.calls)}); outcomes ${JSON.stringify(report.outcomes)}`,
    `  truth updates ${report.updates}, invalidations completed ${report.invalidations} (${report.invalidationRetries} failed tries retried)`,
    ...Object.entries(report.runs).map(
      ([f, r]) =>
        `  fn runs ${f}: ${r.runs} in ${r.fills} fills (${(r.runs / Math.max(1, r.fills)).toFixed(2)} runs per fill), ${r.overlapping} overlapping another run of the key, ${r.unexplained} of them without an invalidation or crash to explain them`,
    ),
    ...(process.env.SOAK_DEBUG
      ? Object.values(report.runs).flatMap((r) => r.examples.map((x) => `    unexplained overlap: ${x}`))
      : []),
    `  storage failures absorbed (onError) ${report.reports}; events ${JSON.stringify(report.events)}`,
    `  late joins (joined a computation or a read an invalidation elsewhere overtook) ${report.lateJoins}`,
    ...(report.fenceWindow > 0
      ? [`  answered from a write the best-effort fence refused, before its writer removed it ${report.fenceWindow}`]
      : []),
    `  WRONG VALUES ${report.wrong}, CALLER ERRORS ${report.errors}`,
    ...report.wrongSamples.map((w) => `    wrong: ${w.why}: ${JSON.stringify(w.call)}`),
    ...report.errorSamples.map((e) => `    error: ${e}`),
  ]
  return lines.join('\n')
}
