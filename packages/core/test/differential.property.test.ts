import { expect, it } from '@jest/globals'
import { memoryStorage } from '@memokit/core'
import fc from 'fast-check'
import { newStats, runScenario, withFakeTime } from './differential-check'
import { scenario } from './differential-model'

/*
 * Issue 9, section 1: the memory storage's read paths (the number table, the by-value scan of recently hit
 * argument lists, the key string) must return what a plain Map keyed by the key encoder's key would, through
 * calls, deletes, clears, expiry, LRU evictions and writes from outside, for any key options.
 */
it('memoryStorage: every call returns what a plain Map keyed by the key encoder holds', async () => {
  const stats = newStats()
  await fc.assert(
    fc.asyncProperty(scenario, (s) =>
      withFakeTime(() =>
        runScenario(s, memoryStorage({ maxEntries: s.maxEntries }), ['default', 'other'], s.maxEntries, stats),
      ),
    ),
    { numRuns: 250 },
  )
  // The fast paths were taken often enough to mean something.
  expect(stats.numberHits).toBeGreaterThan(200)
  expect(stats.byValueHits).toBeGreaterThan(200)
  expect(stats.hits).toBeGreaterThan(stats.calls / 4)
})
