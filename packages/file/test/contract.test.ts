import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from '@jest/globals'
import { fileStorage, fileStorageSync } from '@memokit/file'
import { runStorageContract } from '@memokit/storage-test-suite'

// One directory for every storage of this file: prefixes must keep them apart, as on a shared cache dir.
const root = mkdtempSync(join(tmpdir(), 'memokit-file-contract-'))
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})
const shared = join(root, 'shared')
// The same directory spelled another way: the storages must still find each other (and say so by their scope).
const sharedAgain = join(root, 'other', '..', 'shared', '.')

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'file (async)',
    leases: true,
    create: ({ prefix }) => fileStorage({ dir: shared, prefix }),
    scope: {
      // The sync storage on the same files is the same place.
      createSame: ({ prefix }) => fileStorageSync({ dir: sharedAgain, prefix }),
      createElsewhere: ({ prefix }) => fileStorage({ dir: join(root, 'elsewhere'), prefix }),
    },
  },
)

runStorageContract(
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'file (sync)',
    leases: true,
    create: ({ prefix }) => fileStorageSync({ dir: shared, prefix }),
    scope: {
      createSame: ({ prefix }) => fileStorage({ dir: sharedAgain, prefix }),
      createElsewhere: ({ prefix }) => fileStorageSync({ dir: join(root, 'elsewhere'), prefix }),
    },
  },
)
