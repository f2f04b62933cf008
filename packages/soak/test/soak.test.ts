// The soak's CI form: 15 s per backend of 4 worker processes and a writer over one cache server that the chaos
// step crashes and brings back twice; every value returned must be right (check.ts) and no caller may see an error.
// The last test hides the lease members: the same check must then find the stale writes that fencing prevents,
// or it could not fail. Longer runs: `pnpm --filter @memokit/soak run soak -- --seconds 600` (README).
import { describe, expect, it } from '@jest/globals'
import type { Backend } from '../src/config'
import { formatReport } from '../src/report'
import { runSoak, type SoakReport } from '../src/run'

// Ports 7400-7402 (one per backend); 7410+ are the CLI's.
const PORT = Number(process.env.SOAK_PORT || 7400)
const SECONDS = 15

/** The report, printed whatever the verdict, so a failing run says what it saw. */
const said = (report: SoakReport) => `\n${formatReport(report)}\n`

describe.each<Backend>(['redis', 'mongodb', 'memcached'])('soak on %s', (backend) => {
  it('every value is right and no caller sees an error, through crashes of the cache server', async () => {
    const report = await runSoak({ backend, seconds: SECONDS, kills: 2, port: PORT })
    process.stdout.write(said(report))
    expect({ wrong: report.wrong, errors: report.errors, samples: report.wrongSamples }).toEqual({
      wrong: 0,
      errors: 0,
      samples: [],
    })
    // What the run must have exercised for the verdict to mean something.
    expect({ leases: report.leases, distributed: report.distributed, notes: report.notes }).toEqual({
      leases: true,
      distributed: true,
      notes: [],
    })
    expect(report.chaos).toHaveLength(2)
    expect(report.calls).toBeGreaterThan(200)
    expect(report.updates).toBeGreaterThan(10)
    expect(report.outcomes.hit ?? 0).toBeGreaterThan(0)
    // One run per fill with distributed single-flight, but for runs an invalidation or a crash overtook; a few
    // more may come from a lease lapsing on a loaded machine (the process-local function shows tens of percent).
    const dist = report.runs.dist
    expect(dist.unexplained).toBeLessThanOrEqual(Math.max(2, dist.runs * 0.02))
  }, 240_000)
})

describe('the check itself', () => {
  it('finds wrong values when results are stored unfenced (lease members hidden)', async () => {
    const report = await runSoak({ backend: 'redis', seconds: 6, kills: 0, unfenced: true, port: PORT })
    expect(report.leases).toBe(false)
    expect(report.errors).toBe(0)
    // Hits on a value written after the invalidation that should have kept it out.
    expect(report.wrong).toBeGreaterThan(0)
    expect(report.wrongSamples[0]?.why).toMatch(/invalidated at \d+, \d+ ms before the call started/)
  }, 120_000)
})
