// The soak's CI form on Redis Cluster (3 masters + 3 replicas on ports 7460-7465, or from SOAK_CLUSTER_PORT):
// 8 s of 4 worker processes and a writer over node-redis cluster clients, while the chaos step SIGKILLs one
// master by PID, waits until its replica took over, and brings the killed node back as a replica. Every value
// returned must be right (check.ts) and no caller may see an error. A separate file so jest can run it beside
// soak.test.ts. Longer runs: `pnpm --filter @memokit/soak run soak -- --seconds 600 --backend redis-cluster`.
import { describe, expect, it } from '@jest/globals'
import { runSoak } from '../src/run'
import { expectCleanRun } from './expectations'

const PORT = Number(process.env.SOAK_CLUSTER_PORT || 7460)

describe('soak on redis-cluster', () => {
  it('every value is right and no caller sees an error, through a master SIGKILL, failover and rejoin', async () => {
    const report = await runSoak({ backend: 'redis-cluster', seconds: 8, kills: 1, port: PORT })
    expectCleanRun(report, 1)
    // The chaos step did what it says: a replica took over and the killed master came back as a replica.
    expect(report.chaos[0]?.note).toMatch(
      /^master :\d+ \(pid \d+\) SIGKILLed, :\d+ promoted after \d+ ms, :\d+ back as a replica after \d+ ms$/,
    )
  }, 240_000)
})
