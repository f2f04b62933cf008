#!/usr/bin/env node
// Builds "memokit without channels": the current packages/core sources (the work tree, as they are now) with every
// diagnostics-channel check replaced by `false`, bundled into bench/.no-channels/ (gitignored). Issue 12 asks that
// S1-S3 stay within 3% of the build without channels; this is that build, minus nothing else, so the difference
// between the two rows is exactly what the `hasSubscribers` tests cost an unobserved call.
//
//   node bench/scripts/build-no-channels.mjs          build if missing or the sources changed
//   node bench/scripts/build-no-channels.mjs --json   (what the bench runs) print { core, built, seconds }
//   ... --with-channels   the same sources and the same tsup build with nothing replaced (bench/.channels-bundle/):
//                         the row the no-channels build is judged against, so both sides are bundles and the
//                         difference is the checks alone, not tsx's one-module-per-file loading
//
// Every replaced pattern must be found at least once: if core's checks are renamed, the build fails loudly instead
// of quietly producing a build that still has channels.
import { createHash } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { git, tsup } from './build-before.mjs'

const here = dirname(fileURLToPath(import.meta.url))
/** Where the build lives: `.no-channels/packages/core/dist/index.js` (`.channels-bundle/` with the checks kept). */
export const NO_CHANNELS_DIR = join(dirname(here), '.no-channels')
export const CHANNELS_BUNDLE_DIR = join(dirname(here), '.channels-bundle')
// The checks a call makes before it knows nobody observes it; each becomes the constant it is while unobserved.
// `callObserved` is the hit paths' copy of `callStart.hasSubscribers` (observe.ts); only its reads are replaced.
const CHECKS = [
  'callStart.hasSubscribers',
  'storageChannel.hasSubscribers',
  'computeChannel.hasSubscribers',
  'if (callObserved)',
  '|| callObserved)',
  'callObserved ?',
  ': callObserved,',
]
const CONSTANT = {
  'if (callObserved)': 'if (false)',
  '|| callObserved)': '|| false)',
  'callObserved ?': 'false ?',
  ': callObserved,': ': false,',
}
const COPY = ['packages/core/src', 'packages/core/package.json', 'packages/core/tsconfig.json', 'tsconfig.base.json']

function sourceHash(root) {
  const hash = createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url)))
  const dir = join(root, 'packages/core/src')
  for (const file of readdirSync(dir, { recursive: true }).sort()) {
    if (String(file).endsWith('.ts')) hash.update(String(file)).update(readFileSync(join(dir, String(file))))
  }
  return hash.digest('hex').slice(0, 16)
}

function stripChecks(srcDir) {
  const found = new Map(CHECKS.map((c) => [c, 0]))
  for (const file of readdirSync(srcDir, { recursive: true })) {
    const path = join(srcDir, String(file))
    if (!path.endsWith('.ts')) continue
    let text = readFileSync(path, 'utf8')
    for (const check of CHECKS) {
      const parts = text.split(check)
      found.set(check, (found.get(check) ?? 0) + parts.length - 1)
      text = parts.join(CONSTANT[check] ?? 'false')
    }
    writeFileSync(path, text)
  }
  const missing = [...found].filter(([, n]) => n === 0).map(([c]) => c)
  if (missing.length > 0) throw new Error(`core no longer contains ${missing.join(', ')}: update CHECKS in ${here}`)
}

/**
 * Makes sure a build of the current sources exists (checks replaced, or with `withChannels` kept); returns the path
 * of its ESM entry.
 */
export function ensureNoChannelsBuild({ log = () => {}, withChannels = false } = {}) {
  const root = git(here, 'rev-parse', '--show-toplevel')
  const stamp = sourceHash(root)
  const outDir = withChannels ? CHANNELS_BUNDLE_DIR : NO_CHANNELS_DIR
  const core = join(outDir, 'packages/core/dist/index.js')
  let old
  try {
    old = JSON.parse(readFileSync(join(outDir, 'build.json'), 'utf8'))
  } catch {}
  if (old?.stamp === stamp && existsSync(core)) return { core, built: false, seconds: 0 }
  const started = Date.now()
  log(`building memokit ${withChannels ? 'with' : 'without'} channels into ${outDir} ...`)
  const src = mkdtempSync(join(tmpdir(), 'memokit-no-channels-'))
  const tmp = `${outDir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  try {
    for (const p of COPY) cpSync(join(root, p), join(src, p), { recursive: true })
    if (!withChannels) stripChecks(join(src, 'packages/core/src'))
    // The package's own dependencies (superjson is bundled, as the published build does).
    symlinkSync(join(root, 'packages/core/node_modules'), join(src, 'packages/core/node_modules'), 'dir')
    tsup(root, join(src, 'packages/core'), join(tmp, 'packages/core/dist'))
    cpSync(join(src, 'packages/core/package.json'), join(tmp, 'packages/core/package.json'))
    writeFileSync(join(tmp, 'build.json'), `${JSON.stringify({ stamp, builtAt: new Date().toISOString() })}\n`)
    rmSync(outDir, { recursive: true, force: true })
    try {
      renameSync(tmp, outDir)
    } catch (error) {
      // Another bench finished the same build first.
      const theirs = JSON.parse(readFileSync(join(outDir, 'build.json'), 'utf8'))
      if (theirs.stamp !== stamp) throw error
    }
    return { core, built: true, seconds: (Date.now() - started) / 1000 }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    rmSync(src, { recursive: true, force: true })
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const json = process.argv.includes('--json')
  const withChannels = process.argv.includes('--with-channels')
  try {
    const r = ensureNoChannelsBuild({ log: json ? () => {} : (line) => console.log(line), withChannels })
    console.log(json ? JSON.stringify(r) : r.built ? `built in ${r.seconds.toFixed(1)} s` : 'up to date')
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
}
