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

runStorageContract(
  { describe, it, beforeAll, afterAll },
  { name: 'file (async)', create: ({ prefix }) => fileStorage({ dir: join(root, 'shared'), prefix }) },
)

runStorageContract(
  { describe, it, beforeAll, afterAll },
  { name: 'file (sync)', create: ({ prefix }) => fileStorageSync({ dir: join(root, 'shared'), prefix }) },
)
