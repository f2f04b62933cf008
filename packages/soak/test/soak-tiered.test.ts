// The soak's CI form on two tiers (`redis-tiered`): 8 s of 4 worker processes and a writer, each process's storage
// a tieredStorage (memory L1, Redis L2, redisBus) over one Redis that the chaos step crashes and brings back twice,
// its bus subscribers killed twice more; every value returned must be right within the tier's bound (check.ts) and
// no caller may see an error. A separate file so jest runs it beside soak.test.ts. Longer runs:
// `pnpm --filter @memokit/soak run soak -- --seconds 600 --backend redis-tiered`.
import { describe, expect, it } from '@jest/globals'
import { runSoak } from '../src/run'
import { expectCleanRun } from './expectations'

// The tiered mode's Redis listens on the base port + 3 (7403): apart from soak.test.ts's servers on 7400-7402.
const PORT = Number(process.env.SOAK_PORT || 7400)
const SECONDS = 8

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
