#!/usr/bin/env node
// Builds the "before" memokit the bench compares the current core against: packages/core and packages/redis as
// they were at BEFORE_COMMIT, taken with `git archive` (so it works in any full clone, whatever the work tree holds)
// and bundled with the workspace's tsup into bench/.before/ (gitignored).
//
//   node bench/scripts/build-before.mjs            build if missing or stale, else do nothing
//   node bench/scripts/build-before.mjs --force    rebuild
//   node bench/scripts/build-before.mjs --json     (what the bench runs) print { commit, core, redis, built, seconds }
//
// The bench runs it before loading the "before" contender. A build is stale when the commit or this script changed
// (both are in .before/build.json). The old sources are extracted to the OS's temporary folder, never under bench/
// (the root tsconfig type-checks every .ts file under bench/); .before/ holds only the built files, manifests and
// node_modules links. The build is written to a temporary folder and renamed into place, so two benches started at
// once never load a half-written build.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The last commit before issue 9's core restructure, or `MEMOKIT_BEFORE_COMMIT` (any commit of this clone) to hold
 * a later restructure against the build from before it, in the same run.
 */
export const BEFORE_COMMIT = process.env.MEMOKIT_BEFORE_COMMIT || '0a78d37'

const here = dirname(fileURLToPath(import.meta.url))
const benchDir = dirname(here)
/** Where the build lives: `.before/packages/{core,redis}/dist/index.js`. */
export const BEFORE_DIR = join(benchDir, '.before')
const STAMP = 'build.json'
// What the build needs from the old tree: sources, manifests (tsup reads dependencies from them to decide what
// stays external) and the tsconfigs they extend.
const PATHS = [
  'packages/core/src',
  'packages/core/package.json',
  'packages/core/tsconfig.json',
  'packages/redis/src',
  'packages/redis/package.json',
  'packages/redis/tsconfig.json',
  'tsconfig.base.json',
]
// Runtime dependencies the old packages keep external, and where the workspace has each installed: beside the
// package that uses it today, else pnpm's hidden hoisting folder (should the current package stop using it).
const DEPENDENCIES = [
  ['superjson', ['packages/core', 'node_modules/.pnpm']],
  ['redis', ['packages/redis', 'bench', 'node_modules/.pnpm']],
]

export const git = (root, ...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim()

function stampFor(root) {
  let commit
  try {
    commit = git(root, 'rev-parse', '--verify', '--quiet', `${BEFORE_COMMIT}^{commit}`)
  } catch {
    throw new Error(
      `commit ${BEFORE_COMMIT} is not in this clone (a shallow clone? run \`git fetch --unshallow\`), so the "before" build cannot be made`,
    )
  }
  const script = createHash('sha256')
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest('hex')
    .slice(0, 16)
  return { commit, script }
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(join(BEFORE_DIR, STAMP), 'utf8'))
  } catch {
    return undefined
  }
}

// Node's lookup: the nearest node_modules/<name> at or above `from` (pnpm keeps a package's dependencies beside it).
function packageDir(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate)
    if (dirname(dir) === dir) throw new Error(`cannot find ${name} installed above ${from} (run pnpm install)`)
  }
}

export function installed(name, root, owners) {
  for (const owner of owners) {
    try {
      return packageDir(name, join(root, owner))
    } catch {}
  }
  throw new Error(`cannot find ${name} installed in the workspace (run pnpm install)`)
}

export function tsup(root, cwd, outDir) {
  const cli = join(dirname(createRequire(join(root, 'package.json')).resolve('tsup')), 'cli-default.js')
  // The packages' shared config minus what a benchmark does not load: ESM only, no .d.ts, no source maps, and
  // esbuild's own bundling instead of the Rollup tree-shaking pass (closer to what tsx does to the current sources).
  // A later core also has the `@memokit/core/backend` entry its redis package imports: both entries then share
  // their modules through chunks (splitting), as in the published build, so they share one module state.
  const backend = existsSync(join(cwd, 'src/backend.ts'))
  const entries = backend ? ['src/index.ts', 'src/backend.ts'] : ['src/index.ts']
  const args = [
    ...entries,
    '--format',
    'esm',
    '--target',
    'node20',
    backend ? '--splitting' : '--no-splitting',
    '--silent',
  ]
  args.push('--out-dir', outDir)
  execFileSync(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'inherit', 'inherit'] })
}

/**
 * Makes sure an up-to-date build exists; returns the paths of the two ESM entry files.
 * `log` hears what is done (nothing when the build is current).
 */
export function ensureBeforeBuild({ force = false, log = () => {} } = {}) {
  const root = git(benchDir, 'rev-parse', '--show-toplevel')
  const stamp = stampFor(root)
  const entries = {
    core: join(BEFORE_DIR, 'packages/core/dist/index.js'),
    redis: join(BEFORE_DIR, 'packages/redis/dist/index.js'),
  }
  const old = readStamp()
  if (!force && old?.commit === stamp.commit && old?.script === stamp.script && existsSync(entries.redis)) {
    return { ...entries, built: false, seconds: 0, stamp: old }
  }
  const started = Date.now()
  log(`building memokit before (${BEFORE_COMMIT}) into ${relative(root, BEFORE_DIR)}/ ...`)
  const tmp = `${BEFORE_DIR}.tmp-${process.pid}`
  const src = mkdtempSync(join(tmpdir(), 'memokit-before-'))
  rmSync(tmp, { recursive: true, force: true })
  try {
    const tar = execFileSync('git', ['-C', root, 'archive', stamp.commit, ...PATHS])
    execFileSync('tar', ['-x', '-C', src], { input: tar })
    for (const pkg of ['core', 'redis']) {
      // What a later core bundles (superjson) resolves from the workspace's installation of the package.
      const installedModules = join(root, 'packages', pkg, 'node_modules')
      if (existsSync(installedModules)) symlinkSync(installedModules, join(src, 'packages', pkg, 'node_modules'), 'dir')
      // tsup keeps the manifest's dependencies external; Node then finds them through the links below.
      tsup(root, join(src, 'packages', pkg), join(tmp, 'packages', pkg, 'dist'))
      copyFileSync(join(src, 'packages', pkg, 'package.json'), join(tmp, 'packages', pkg, 'package.json'))
    }
    // Module resolution for the built files: @memokit/core for the old redis package, and the runtime
    // dependencies from the workspace's installation.
    const modules = join(tmp, 'node_modules')
    mkdirSync(join(modules, '@memokit'), { recursive: true })
    symlinkSync('../../packages/core', join(modules, '@memokit/core'), 'dir')
    const versions = {}
    for (const [name, owners] of DEPENDENCIES) {
      const dir = installed(name, root, owners)
      symlinkSync(dir, join(modules, name), 'dir')
      versions[name] = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
    }
    const full = { ...stamp, dependencies: versions, builtAt: new Date().toISOString() }
    writeFileSync(join(tmp, STAMP), `${JSON.stringify(full, null, 2)}\n`)
    rmSync(BEFORE_DIR, { recursive: true, force: true })
    try {
      renameSync(tmp, BEFORE_DIR)
    } catch (error) {
      // Another bench finished its build first: use that one if it is the same build.
      const theirs = readStamp()
      if (theirs?.commit !== stamp.commit || theirs?.script !== stamp.script) throw error
    }
    const seconds = (Date.now() - started) / 1000
    log(`built memokit before (${BEFORE_COMMIT}) in ${seconds.toFixed(1)} s`)
    return { ...entries, built: true, seconds, stamp: full }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    rmSync(src, { recursive: true, force: true })
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const json = process.argv.includes('--json')
  try {
    const log = json ? () => {} : (line) => console.log(line)
    const r = ensureBeforeBuild({ force: process.argv.includes('--force'), log })
    if (json) {
      const { core, redis, built, seconds } = r
      console.log(JSON.stringify({ commit: BEFORE_COMMIT, core, redis, built, seconds }))
    } else if (!r.built) console.log(`memokit before (${BEFORE_COMMIT}) is up to date in ${BEFORE_DIR}`)
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
}
