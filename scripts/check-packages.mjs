// Checks every publishable package the way a consumer sees it: publint and are-the-types-wrong on the tarball pnpm
// would publish (ESM and CJS types must both resolve). One `pnpm pack` per package for both: `publint --pack pnpm`
// packed it a second time to list the published files, which the tarball lists itself.
// Two packages at a time (CI's two cores): each check is mostly process start-up, so the run takes half as long.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = new URL('..', import.meta.url).pathname
const bin = (name) => join(root, 'node_modules', '.bin', name)
const dirs = readdirSync(join(root, 'packages')).filter((d) => !d.startsWith('.'))
const out = mkdtempSync(join(tmpdir(), 'memokit-pack-'))
const CONCURRENCY = 2

async function check(dir) {
  const pkgDir = join(root, 'packages', dir)
  const { name, private: isPrivate } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
  if (isPrivate) return true
  try {
    // Each package packs into a folder of its own: its tarball is the only file there.
    const dest = join(out, dir)
    mkdirSync(dest)
    await run('pnpm', ['pack', '--pack-destination', dest], { cwd: pkgDir })
    const tarball = join(dest, readdirSync(dest)[0])
    await run(bin('publint'), ['--strict', tarball])
    await run(bin('attw'), [tarball, '--format', 'table-flipped'])
    console.log(`ok   ${name}: publint clean, types resolve for ESM and CJS consumers`)
    return true
  } catch (error) {
    console.error(`FAIL ${name}:\n${error.stdout?.toString() ?? ''}${error.stderr?.toString() ?? error.message}`)
    return false
  }
}

let failed = 0
try {
  const queue = [...dirs]
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
        if (!(await check(dir))) failed++
      }
    }),
  )
} finally {
  rmSync(out, { recursive: true, force: true })
}
if (failed > 0) {
  console.error(`${failed} package(s) failed the consumer checks`)
  process.exit(1)
}
