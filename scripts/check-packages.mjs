// Checks every publishable package the way a consumer sees it: publint on the package, and
// are-the-types-wrong on the tarball pnpm would publish (ESM and CJS types must both resolve).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const bin = (name) => join(root, 'node_modules', '.bin', name)
const dirs = readdirSync(join(root, 'packages')).filter((d) => !d.startsWith('.'))
const out = mkdtempSync(join(tmpdir(), 'memokit-pack-'))
let failed = 0
try {
  for (const dir of dirs) {
    const pkgDir = join(root, 'packages', dir)
    const { name, private: isPrivate } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
    if (isPrivate) continue
    try {
      execFileSync(bin('publint'), ['--strict', '--pack', 'pnpm'], { cwd: pkgDir, stdio: 'pipe' })
      const before = new Set(readdirSync(out))
      execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: pkgDir, stdio: 'pipe' })
      const tarball = readdirSync(out).find((f) => !before.has(f))
      execFileSync(bin('attw'), [join(out, tarball), '--format', 'table-flipped'], { stdio: 'pipe' })
      console.log(`ok   ${name}: publint clean, types resolve for ESM and CJS consumers`)
    } catch (error) {
      failed++
      console.error(`FAIL ${name}:\n${error.stdout?.toString() ?? ''}${error.stderr?.toString() ?? error.message}`)
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true })
}
if (failed > 0) {
  console.error(`${failed} package(s) failed the consumer checks`)
  process.exit(1)
}
