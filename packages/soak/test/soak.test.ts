// The soak's CI form: 10 s per backend of 4 worker processes and a writer over one cache server that the chaos
// step crashes and brings back twice; every value returned must be right (check.ts) and no caller may see an error.
// The last test hides the lease members: the same check must then find the stale writes that fencing prevents,
// or it could not fail. Longer runs: `pnpm --filter @memokit/soak run soak -- --seconds 600` (README).
import { describe, expect, it } from '@jest/globals'
import type { Backend } from '../src/config'
import { runSoak } from '../src/run'
import { expectCleanRun } from './expectations'

// Ports 7400-7402 (one per backend); 7410+ are the CLI's.
const PORT = Number(process.env.SOAK_PORT || 7400)
const SECONDS = 10

describe.each<Backend>(['redis', 'mongodb', 'memcached'])('soak on %s', (backend) => {
  it('every value is right and no caller sees an error, through crashes of the cache server', async () => {
    const report = await runSoak({ backend, seconds: SECONDS, kills: 2, port: PORT })
    expectCleanRun(report, 2)
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
