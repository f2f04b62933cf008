// The soak's CI form: 8 s per backend (MongoDB 10 s) of 4 worker processes and a writer over one cache server that
// the chaos step crashes and brings back twice; every value returned must be right (check.ts) and no caller may see
// an error. Two tiers: soak-tiered.test.ts; the proofs that the check can fail: soak-checks.test.ts.
// Longer runs: `pnpm --filter @memokit/soak run soak -- --seconds 600` (README).
import { describe, it } from '@jest/globals'
import type { Backend } from '../src/config'
import { runSoak } from '../src/run'
import { expectCleanRun } from './expectations'

// Ports 7400-7403 (one per backend, 7403 the tiered mode's Redis); 7410+ are the CLI's.
const PORT = Number(process.env.SOAK_PORT || 7400)
// The MongoDB stand-in answers slowly: on a loaded machine 8 s made 207 and 417 calls (Redis 2000+), close to the
// 200 calls expectCleanRun asks for, so it keeps 10 s.
const seconds = (backend: Backend): number => (backend === 'mongodb' ? 10 : 8)

describe.each<Backend>(['redis', 'mongodb', 'memcached'])('soak on %s', (backend) => {
  it('every value is right and no caller sees an error, through crashes of the cache server', async () => {
    const report = await runSoak({ backend, seconds: seconds(backend), kills: 2, port: PORT })
    expectCleanRun(report, 2)
  }, 240_000)
})
