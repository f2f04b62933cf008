// A service's own tests often run under jest's default fake timers. docs/recipes.md promises that memokit's hits and
// misses answer there as with real timers: held here for the file storage (node:fs/promises, whose callbacks fake
// timers don't touch).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, it, jest } from '@jest/globals'
import { fileStorage } from '@memokit/file'
import { runFakeTimersChecks } from '@memokit/storage-test-suite'

const dir = mkdtempSync(join(tmpdir(), 'memokit-fake-timers-'))

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

runFakeTimersChecks(
  { describe, it },
  {
    name: 'file',
    open: ({ prefix }) => fileStorage({ dir, prefix }),
    fake: () => jest.useFakeTimers(),
    restore: () => jest.useRealTimers(),
  },
)
