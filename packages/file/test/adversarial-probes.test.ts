// Adversarial probes of the file storage that found nothing wrong, kept because no other test covers them: four
// processes (two sync, two async storages) on one directory for a few seconds, each mixing set, add (with short
// ttls), get, delete, both kinds of clear and prune over a handful of keys with values up to ~300 KB: no read is
// torn or of another key, and no call fails (a write racing a clear or prune lands whole, before or after it).
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'

const root = fs.mkdtempSync(join(tmpdir(), 'memokit-file-advp-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
const repoRoot = join(__dirname, '..', '..', '..')
const hammer = join(__dirname, 'fixtures', 'adversarial-child.ts')

interface Counts {
  ops: number
  hits: number
  wrong: string[]
  errors: string[]
}

function runHammer(command: object): Promise<Counts> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', hammer, JSON.stringify(command)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
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
      else resolve(JSON.parse(out.trim().split('\n').pop() as string) as Counts)
    })
  })
}

describe('four processes (two sync, two async) on one directory', () => {
  it('every read is whole and of the key asked for, through sets, adds, deletes, clears and prunes', async () => {
    const dir = join(root, 'hammer')
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) => runHammer({ dir, prefix: 'p', sync: i % 2 === 0, ms: 4000, seed: 17 + i })),
    )
    for (const r of results) {
      expect(r.wrong).toEqual([])
      expect(r.errors).toEqual([])
      expect(r.hits).toBeGreaterThan(20)
    }
  }, 60_000)
})
