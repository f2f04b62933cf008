/**
 * What every CI soak run must show, shared by the single-server and the cluster test files: the report printed
 * whatever the verdict (so a failing run says what it saw), no wrong value, no caller error, and a run that
 * exercised enough for the verdict to mean something.
 */
import { expect } from '@jest/globals'
import { formatReport } from '../src/report'
import type { SoakReport } from '../src/run'

/** Asserts a clean soak run with `kills` chaos steps; prints the report first. */
export function expectCleanRun(report: SoakReport, kills: number): void {
  process.stdout.write(`\n${formatReport(report)}\n`)
  expect({ wrong: report.wrong, errors: report.errors, samples: report.wrongSamples }).toEqual({
    wrong: 0,
    errors: 0,
    samples: [],
  })
  expect({ leases: report.leases, distributed: report.distributed, notes: report.notes }).toEqual({
    leases: true,
    distributed: true,
    notes: [],
  })
  expect(report.chaos).toHaveLength(kills)
  expect(report.calls).toBeGreaterThan(200)
  expect(report.updates).toBeGreaterThan(10)
  expect(report.outcomes.hit ?? 0).toBeGreaterThan(0)
  // One run per fill with distributed single-flight, but for runs an invalidation or a crash overtook; a few
  // more may come from a lease lapsing on a loaded machine (the process-local function shows tens of percent).
  const dist = report.runs.dist
  expect(dist.unexplained).toBeLessThanOrEqual(Math.max(2, dist.runs * 0.02))
}
