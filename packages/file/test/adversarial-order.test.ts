// Two writes of one key from one async file storage: their file-system calls run concurrently, so an older, larger
// value still being written was renamed over the newer one written right after it and served until its ttl. The
// first test failed before set and add waited for the key's writes already started.
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from '@jest/globals'
import { fileStorage } from '@memokit/file'

const root = fs.mkdtempSync(join(tmpdir(), 'memokit-file-adv-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

it('a set issued while an earlier, larger set of the key is being written lands after it', async () => {
  const storage = fileStorage({ dir: join(root, 'a'), prefix: 'p' })
  const first = storage.set('ns', 'k', 'stale'.repeat(4_000_000))
  await storage.set('ns', 'k', 'fresh')
  await first
  const value = (await storage.get('ns', 'k'))?.value as string
  expect(value.slice(0, 10)).toBe('fresh')
})

it('a write that waits for an earlier one stores the value as it was at the call', async () => {
  const storage = fileStorage({ dir: join(root, 'b'), prefix: 'p' })
  const value = { n: 1 }
  const first = storage.set('ns', 'k', 'x'.repeat(20_000_000))
  const second = storage.set('ns', 'k', value)
  value.n = 2
  await Promise.all([first, second])
  expect((await storage.get('ns', 'k'))?.value).toEqual({ n: 1 })
  expect(await storage.add('ns', 'k', 'other')).toBe(false)
})
