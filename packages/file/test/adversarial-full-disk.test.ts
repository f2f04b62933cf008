// A write that fails part-way (a full disk: ENOSPC, a quota, here EFBIG from `ulimit -f`) used to leave its partial
// temp file behind until a prune removed it, a minute later at the earliest: on a full disk every retried write
// kept what fit, so the cache held the space it had run out of (and never gave it back without prune()).
// Fails before fs-ops.ts removed the file it created when the write into it fails.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from '@jest/globals'
import { keyFileName } from '../src/layout'

const root = fs.mkdtempSync(join(tmpdir(), 'memokit-file-full-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
const repoRoot = join(__dirname, '..', '..', '..')
const fixture = join(__dirname, 'fixtures', 'adversarial-full-disk.ts')

function runLimited(dir: string): Promise<{ results: Record<string, string>; files: string[] }> {
  // 200 blocks of 512 bytes: the small entry and the lease fit, the 300 KB values don't.
  const script = `trap '' XFSZ; ulimit -f 200; exec "${process.execPath}" --import tsx "${fixture}" "${dir}"`
  return new Promise((resolve, reject) => {
    const proc = spawn('bash', ['-c', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString()
    })
    proc.stderr.on('data', (c: Buffer) => {
      err += c.toString()
    })
    proc.on('error', reject)
    proc.on('close', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}: ${err}`))
      else resolve(JSON.parse(out.trim().split('\n').pop() as string))
    })
  })
}

it('a write that fails part-way fails with a StorageError and leaves no partial file behind', async () => {
  const { results, files } = await runLimited(join(root, 'cache'))
  expect(results).toEqual({
    set: 'StorageError EFBIG',
    add: 'StorageError EFBIG',
    setIfLeased: 'StorageError EFBIG',
    syncSet: 'StorageError EFBIG',
    small: 'fits',
  })
  // The small entry, and the lease the failed fenced write still holds: no temp file.
  expect(files.sort()).toEqual([keyFileName('small'), `${keyFileName('c')}.lease`].sort())
}, 60_000)
