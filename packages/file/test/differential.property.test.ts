import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from '@jest/globals'
import { fileStorageSync } from '@memokit/file'
import fc from 'fast-check'
import { newStats, runScenario, withFakeTime } from '../../core/test/differential-check'
import { scenario } from '../../core/test/differential-model'

/*
 * Issue 9, section 1, over the sync file storage: the same differential test as core's over memoryStorage (calls,
 * deletes, clears, expiry, writes from outside, random key options), against a plain Map without a bound.
 */
const root = mkdtempSync(join(tmpdir(), 'memokit-file-differential-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

it('fileStorageSync: every call returns what a plain Map keyed by the key encoder holds', async () => {
  // One storage; each run has namespaces of its own, so names never meet another run's.
  const storage = fileStorageSync({ dir: root, prefix: 'differential' })
  const stats = newStats()
  let run = 0
  await fc.assert(
    fc.asyncProperty(scenario, (s) => {
      run++
      const namespaces = [`r${run}`, `r${run}:other`] as const
      return withFakeTime(() => runScenario(s, storage, namespaces, Number.POSITIVE_INFINITY, stats))
    }),
    { numRuns: 100 },
  )
  expect(stats.hits).toBeGreaterThan(stats.calls / 4)
})
