// The proofs that the soak's check can fail, each on a run that breaks what makes the values right: with the lease
// members hidden, the check must find the stale writes that fencing prevents; with tiers that hear no other
// replica, the values served past the tier's bound. A separate file so jest runs it beside soak.test.ts.
import { describe, expect, it } from '@jest/globals'
import { runSoak } from '../src/run'

// Own servers on 7430 (Redis) and 7433 (the tiered mode's Redis): apart from the other soak files' ports.
const PORT = Number(process.env.SOAK_CHECKS_PORT || 7430)

describe('the check itself', () => {
  it('finds wrong values when results are stored unfenced (lease members hidden)', async () => {
    const report = await runSoak({ backend: 'redis', seconds: 6, kills: 0, unfenced: true, port: PORT })
    expect(report.leases).toBe(false)
    expect(report.errors).toBe(0)
    // Hits on a value written after the invalidation that should have kept it out.
    expect(report.wrong).toBeGreaterThan(0)
    expect(report.wrongSamples[0]?.why).toMatch(/invalidated at \d+, \d+ ms before the call started/)
  }, 120_000)

  it("finds values served past the tier's bound when every tier hears only itself (broken tier)", async () => {
    // Two workers and 4 s of calls are plenty (6 s with four found thousands), and keep the proof cheap in CI.
    const report = await runSoak({
      backend: 'redis-tiered',
      seconds: 4,
      workers: 2,
      kills: 0,
      busKills: 0,
      brokenTier: true,
      port: PORT,
    })
    expect(report.errors).toBe(0)
    // L1 copies kept after the writer's invalidations, for longer than the 2 s the check allows.
    expect(report.wrong).toBeGreaterThan(0)
    expect(report.wrongSamples[0]?.why).toMatch(/ms before the call started, past the tier's bound of 2100 ms/)
  }, 120_000)
})
