// The soak's CI form: 10 s per backend of 4 worker processes and a writer over one cache server that the chaos
// step crashes and brings back twice; every value returned must be right (check.ts) and no caller may see an error.
// Two tiers (`redis-tiered`) run the same way, each process's storage a tieredStorage over that Redis with a
// redisBus, its subscribers killed twice more; a value may be stale by at most the tier's bound.
// The last tests break what makes the values right: with the lease members hidden, the check must find the stale
// writes that fencing prevents; with tiers that hear no other replica, the values served past the tier's bound.
// Otherwise the check could not fail. Longer runs: `pnpm --filter @memokit/soak run soak -- --seconds 600` (README).
import { describe, expect, it } from '@jest/globals'
import type { Backend } from '../src/config'
import { runSoak } from '../src/run'
import { expectCleanRun } from './expectations'

// Ports 7400-7403 (one per backend, 7403 the tiered mode's Redis); 7410+ are the CLI's.
const PORT = Number(process.env.SOAK_PORT || 7400)
const SECONDS = 10

describe.each<Backend>(['redis', 'mongodb', 'memcached'])('soak on %s', (backend) => {
  it('every value is right and no caller sees an error, through crashes of the cache server', async () => {
    const report = await runSoak({ backend, seconds: SECONDS, kills: 2, port: PORT })
    expectCleanRun(report, 2)
  }, 240_000)
})

describe('soak on redis-tiered', () => {
  it('every value is right within the tier bound, through server crashes and killed bus subscribers', async () => {
    const report = await runSoak({ backend: 'redis-tiered', seconds: SECONDS, kills: 2, busKills: 2, port: PORT })
    expectCleanRun(report, 2)
    // Each bus kill found subscribers (the buses' own connections) to kill.
    expect(report.busKills.map((kill) => kill.killed > 0)).toEqual([true, true])
    // Every worker dropped its L1 on its first subscription and again after each killed subscription came back.
    expect(report.events['bus-dropped:up'] ?? 0).toBeGreaterThanOrEqual(report.options.workers * 3)
    // The L1 answered hits of its own: fewer entries came from the L2 than calls were hits.
    expect(report.l2Reads?.found ?? Infinity).toBeLessThan(report.outcomes.hit ?? 0)
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
