// Releases the publishable packages (packages/*, not private) from the pending changesets in .changeset/.
//
//   pnpm release        versions in place (package.json, CHANGELOG.md; consumes .changeset/*.md), builds, builds the
//                       API reference, runs the package checks (publint + attw), commits the bumps, publishes with
//                       `pnpm publish -r --provenance --access public` (from CI: provenance needs its OIDC token),
//                       tags every package version (push with `git push --follow-tags`)
//   pnpm release:dry    all of it but publishing, with the versioning done on a copy in os.tmpdir(): the working tree
//                       is left as it was (only the gitignored dist/ and docs/api/ are rebuilt)
//   --no-checks         with --dry-run: skip build, docs:api and the package checks, for the test gate that ran
//                       them just before
//
// The dry run packs each versioned package with `pnpm pack` (the tarball `pnpm publish` uploads) and checks its
// manifest, instead of `pnpm publish --dry-run`: that one asks the registry which versions exist (and npm's dry run
// contacts it too), so it needs the network and, offline, spends minutes in retries.
//
// Versions come from changesets' own planner with one change: a 0.x package that changesets would move to 1.0.0
// only because a peer dependency moved (every backend peers on @memokit/core: `^0.1.0` excludes 0.2.0, and
// changesets makes a peer dependent's bump major) gets a minor bump instead, the breaking bump of a 0.x package.
// A changeset that asks for `major` itself still gets it. So run versioning through this script, not
// `changeset version`.
import { execFile, execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'
import applyReleasePlan from '@changesets/apply-release-plan'
import { read as readConfig } from '@changesets/config'
import getReleasePlan from '@changesets/get-release-plan'
import { getPackages } from '@manypkg/get-packages'

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '')
const FLAGS = ['--dry-run', '--no-checks', '--help']
const args = process.argv.slice(2)
const unknown = args.filter((arg) => !FLAGS.includes(arg))
if (args.includes('--help') || unknown.length > 0) {
  if (unknown.length > 0) console.error(`release: unknown option ${unknown.join(' ')}`)
  console.error('usage: node scripts/release.mjs [--dry-run [--no-checks]]')
  process.exit(unknown.length > 0 ? 1 : 0)
}
const dryRun = args.includes('--dry-run')
const checks = !args.includes('--no-checks')
if (!dryRun && !checks) fail('--no-checks is only for --dry-run: a real release always builds and checks')

function fail(message) {
  console.error(`release: ${message}`)
  process.exit(1)
}

function step(label, run) {
  const started = Date.now()
  const result = run()
  const finish = () => console.log(`release: ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  if (result instanceof Promise) {
    return result.then((value) => {
      finish()
      return value
    })
  }
  finish()
  return result
}

const sh = (command, commandArgs, cwd = root) => execFileSync(command, commandArgs, { cwd, stdio: 'inherit' })

// The packages pnpm publish -r would publish; each must keep a CHANGELOG.md for changesets to prepend to.
async function publishable(cwd) {
  const { packages } = await getPackages(cwd)
  const list = packages.filter((p) => !p.packageJson.private)
  const missing = list.filter((p) => !existsSync(join(p.dir, 'CHANGELOG.md'))).map((p) => p.packageJson.name)
  if (missing.length > 0) fail(`no CHANGELOG.md in ${missing.join(', ')}: add one with a "# <name>" heading`)
  return list
}

// Plans the versions from the pending changesets and writes them (package.json, CHANGELOG.md, consumed changesets).
async function version(cwd) {
  const plan = await getReleasePlan(cwd)
  if (plan.preState) fail('changesets is in pre mode; this script versions normal releases only')
  if (plan.releases.length === 0) return []
  const askedMajor = new Set(
    plan.changesets.flatMap((c) => c.releases.filter((r) => r.type === 'major').map((r) => r.name)),
  )
  for (const release of plan.releases) {
    if (release.type !== 'major' || askedMajor.has(release.name)) continue
    const [major, minor] = release.oldVersion.split('.').map(Number)
    if (major !== 0) continue
    release.type = 'minor'
    release.newVersion = `0.${minor + 1}.0`
  }
  const packages = await getPackages(cwd)
  const config = await readConfig(cwd, packages)
  // The changelog generator is resolved from here when cwd (a copy) has no node_modules.
  await applyReleasePlan(plan, packages, config, undefined, join(root, '.changeset'))
  const bumped = plan.releases.filter((r) => r.type !== 'none')
  for (const r of bumped) console.log(`  ${r.name} ${r.oldVersion} -> ${r.newVersion} (${r.type})`)
  return bumped
}

function runChecks() {
  step('build', () => sh('pnpm', ['build']))
  step('API reference (docs:api)', () => sh('pnpm', ['docs:api']))
  step('package checks (publint, attw)', () => sh('node', ['scripts/check-packages.mjs']))
}

// A copy of what versioning and packing read: the workspace manifests, .changeset/, and each publishable
// package's manifest, changelog, readme, license and dist/. Workspace dependencies are linked the way pnpm
// install links them, since pnpm pack reads their versions from node_modules to replace `workspace:`.
async function copyWorkspace(to) {
  for (const file of ['package.json', 'pnpm-workspace.yaml']) cpSync(join(root, file), join(to, file))
  cpSync(join(root, '.changeset'), join(to, '.changeset'), { recursive: true })
  const { packages } = await getPackages(root)
  const dirOf = new Map(packages.map((p) => [p.packageJson.name, relative(root, p.dir)]))
  for (const p of packages) {
    const dir = relative(root, p.dir)
    mkdirSync(join(to, dir), { recursive: true })
    const files = p.packageJson.private ? ['package.json'] : ['package.json', 'CHANGELOG.md', 'README.md', 'LICENSE']
    for (const file of files) if (existsSync(join(p.dir, file))) cpSync(join(p.dir, file), join(to, dir, file))
    if (p.packageJson.private) continue
    if (!existsSync(join(p.dir, 'dist'))) fail(`${p.packageJson.name} has no dist/: run pnpm build first`)
    cpSync(join(p.dir, 'dist'), join(to, dir, 'dist'), { recursive: true })
    const fields = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']
    for (const [name, range] of fields.flatMap((f) => Object.entries(p.packageJson[f] ?? {}))) {
      if (!String(range).startsWith('workspace:') || !dirOf.has(name)) continue
      const link = join(to, dir, 'node_modules', name)
      if (existsSync(link)) continue
      mkdirSync(dirname(link), { recursive: true })
      symlinkSync(join(to, dirOf.get(name)), link)
    }
  }
}

// Packs every publishable package of the copy and checks the manifest a registry would get.
async function pack(copy, out) {
  const run = promisify(execFile)
  const list = await publishable(copy)
  const packed = await Promise.all(
    list.map(async (p) => {
      const { stdout } = await run('pnpm', ['pack', '--pack-destination', out], { cwd: p.dir })
      const tarball = stdout.trim().split('\n').pop()
      const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }))
      const { name, version } = p.packageJson
      if (manifest.version !== version) fail(`${name}: the tarball says ${manifest.version}, the plan ${version}`)
      if (JSON.stringify(manifest).includes('workspace:')) fail(`${name}: a workspace: range is left in the tarball`)
      return `  ${name}@${version}  ${(statSync(tarball).size / 1024).toFixed(0)} kB`
    }),
  )
  console.log(packed.join('\n'))
}

async function dryRunRelease() {
  if (checks) runChecks()
  await publishable(root)
  const copy = mkdtempSync(join(tmpdir(), 'memokit-release-'))
  try {
    await step('copy of the workspace', () => copyWorkspace(copy))
    const bumped = await step('versions from the changesets (on the copy)', () => version(copy))
    if (bumped.length === 0) console.log('  no pending changesets: the current versions would be published')
    mkdirSync(join(copy, '.packed'))
    await step('pack, as pnpm publish would', () => pack(copy, join(copy, '.packed')))
    console.log('release: dry run done; nothing published, the working tree untouched')
  } finally {
    rmSync(copy, { recursive: true, force: true })
  }
}

async function release() {
  if (execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim() !== '') {
    fail('the working tree has changes: commit them first (the release commits the version bumps)')
  }
  await publishable(root)
  const bumped = await step('versions from the changesets', () => version(root))
  try {
    runChecks()
  } catch (error) {
    if (bumped.length > 0) console.error('release: undo the version bumps with `git checkout -- . && git clean -fd`')
    throw error
  }
  if (bumped.length > 0) {
    sh('git', ['add', '--all', '--', 'packages', '.changeset'])
    sh('git', ['commit', '-m', `release: ${bumped.map((r) => `${r.name}@${r.newVersion}`).join(', ')}`])
  }
  step('publish', () => sh('pnpm', ['publish', '-r', '--provenance', '--access', 'public']))
  step('tags', () => sh('pnpm', ['changeset', 'tag']))
  console.log('release: published; push the commit and tags with `git push --follow-tags`')
}

const main = dryRun ? dryRunRelease : release
main().catch((error) => {
  console.error(error.stack ?? error)
  process.exit(1)
})
