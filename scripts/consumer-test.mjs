// The consumer test: memokit as a new user gets it. Packs every publishable package (run `pnpm build` first),
// installs the tarballs with plain npm into a fresh project in os.tmpdir() (outside the workspace, so nothing
// resolves through pnpm's links), and there:
//   1. checks one copy of @memokit/core serves every package, and each package ships its LICENSE;
//   2. type-checks scripts/consumer/esm.mts (strict, module nodenext) and runs it with node;
//   3. runs scripts/consumer/cjs.cjs with node (plain require());
//   4. runs scripts/consumer/*.test.js under Jest with its default configuration (no config file);
//   5. type-checks every ```ts sample of every README (strict), see scripts/readme-samples.mjs for the prelude
//      convention; failures point at README file and line.
// The backends' peers are installed from the registry at the versions the workspace tests with (npm's cache
// makes repeated runs offline); the tools (typescript, jest, @types/node, @jest/globals) are linked from the
// workspace instead of downloaded. `--keep` leaves the project in place and prints its path.
import { execFile } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { collectSamples, mapDiagnostics, writeSamples } from './readme-samples.mjs'

const run = promisify(execFile)
const root = realpathSync(new URL('..', import.meta.url).pathname)
const keep = process.argv.includes('--keep')
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))

const packages = readdirSync(join(root, 'packages'))
  .sort()
  .map((dir) => ({ dir: join(root, 'packages', dir), manifest: readJson(join(root, 'packages', dir, 'package.json')) }))
  .filter(({ manifest }) => !manifest.private)
// Peers the backends (and the README samples) need, at the versions the workspace tests with.
const peerPackages = [
  'redis',
  'ioredis',
  'mongodb',
  'memjs',
  '@types/memjs',
  'memcache-client',
  'pg',
  '@types/pg',
  'keyv',
  '@keyv/redis',
  'cache-manager',
  '@opentelemetry/api',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/exporter-prometheus',
]
const tools = ['typescript', 'jest', '@types/node', '@jest/globals']

const project = mkdtempSync(join(tmpdir(), 'memokit-consumer-'))
const timings = []
const failures = []

// Runs one check and reports it; a failed check is recorded and the next ones still run, unless `fatal`.
async function step(title, action, { fatal = false } = {}) {
  const started = performance.now()
  try {
    const detail = await action()
    console.log(`ok   ${title}${detail ? `: ${detail}` : ''}`)
  } catch (error) {
    const output = [error.stdout, error.stderr].filter(Boolean).join('\n').trim()
    failures.push(title)
    console.error(`FAIL ${title}\n${output || error.stack || error}`)
    if (fatal) throw error
  } finally {
    timings.push(`${title.split(/[ ,]/)[0]} ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
}

// Runs a command in the consumer project; the error keeps its output for the report.
const sh = (file, args, env = {}) =>
  run(file, args, { cwd: project, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 })

function workspaceVersion(name) {
  for (const { manifest } of packages) {
    const version = manifest.devDependencies?.[name] ?? manifest.dependencies?.[name]
    if (version) return version
  }
  throw new Error(`no package of the workspace pins ${name}`)
}

// Every import specifier a consumer can use: each package, and each subpath of its exports map.
function entryPoints() {
  return packages.flatMap(({ manifest }) =>
    Object.keys(manifest.exports ?? { '.': null })
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => manifest.name + subpath.slice(1)),
  )
}

function tsconfig(compilerOptions, include) {
  return JSON.stringify({
    compilerOptions: { strict: true, target: 'es2022', types: ['node'], ...compilerOptions },
    include,
  })
}

try {
  await step(
    'pack',
    async () => {
      for (const { dir, manifest } of packages) {
        if (!existsSync(join(dir, 'dist'))) throw new Error(`${manifest.name} has no dist/: run \`pnpm build\` first`)
      }
      mkdirSync(join(project, 'tarballs'))
      await Promise.all(
        packages.map(({ dir }) => run('pnpm', ['pack', '--pack-destination', join(project, 'tarballs')], { cwd: dir })),
      )
      return `${packages.length} packages`
    },
    { fatal: true },
  )

  await step(
    'npm install',
    async () => {
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'memokit-consumer', private: true }))
      const tarballs = readdirSync(join(project, 'tarballs')).map((file) => `./tarballs/${file}`)
      const peers = peerPackages.map((name) => `${name}@${workspaceVersion(name)}`)
      await sh('npm', [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        ...tarballs,
        ...peers,
      ])
      for (const tool of tools) {
        const target = join(project, 'node_modules', tool)
        rmSync(target, { recursive: true, force: true })
        mkdirSync(join(target, '..'), { recursive: true })
        symlinkSync(realpathSync(join(root, 'node_modules', tool)), target, 'dir')
      }
    },
    { fatal: true },
  )

  await step('one copy of @memokit/core, LICENSE in every package', () => {
    for (const { manifest } of packages) {
      const installed = join(project, 'node_modules', manifest.name)
      if (existsSync(join(installed, 'node_modules', '@memokit', 'core'))) {
        throw new Error(`${manifest.name} installed a copy of @memokit/core of its own`)
      }
      if (!existsSync(join(installed, 'LICENSE'))) throw new Error(`${manifest.name}'s tarball has no LICENSE`)
    }
  })

  const env = { MEMOKIT_ENTRY_POINTS: JSON.stringify(entryPoints()) }
  await step('ESM TypeScript (tsc strict, nodenext; node)', async () => {
    cpSync(join(root, 'scripts', 'consumer'), join(project, 'src'), { recursive: true })
    // skipLibCheck as `tsc --init` sets it: @types/node 20.9 itself does not pass TypeScript 5.9's lib check.
    const options = { module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out', skipLibCheck: true }
    writeFileSync(join(project, 'tsconfig.json'), tsconfig(options, ['src/*.mts']))
    await sh('node', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--pretty', 'false'])
    return (await sh('node', ['out/esm.mjs'], env)).stdout.trim()
  })

  await step('CommonJS (node)', async () => (await sh('node', ['src/cjs.cjs'], env)).stdout.trim())

  await step('Jest, default configuration', async () => {
    // `--ci` only stops snapshot writing; the config stays Jest's defaults (no file, no package.json key).
    const { stderr } = await sh('node', ['node_modules/jest/bin/jest.js', '--ci', 'src/'], env)
    return stderr.match(/^Tests:.*$/m)?.[0]
  })

  await step('README samples (tsc strict)', async () => {
    const samples = collectSamples(root)
    const origins = writeSamples(samples, join(project, 'readme-samples'))
    const options = {
      noEmit: true,
      module: 'preserve',
      moduleResolution: 'bundler',
      moduleDetection: 'force',
      allowImportingTsExtensions: true,
      skipLibCheck: true,
    }
    writeFileSync(join(project, 'tsconfig.readme.json'), tsconfig(options, ['readme-samples/**/*.ts']))
    try {
      await sh('node', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.readme.json', '--pretty', 'false'])
    } catch (error) {
      const hint =
        'A fragment gets its declarations from a `<!-- ts-prelude ... -->` comment right before its fence; ' +
        'see the header of scripts/readme-samples.mjs.'
      error.stdout = `${mapDiagnostics(error.stdout ?? '', project, origins)}\n${hint}`
      throw error
    }
    return `${samples.length} samples`
  })
} catch {
  // Reported by step(); the checks after a failed pack or install cannot run.
} finally {
  if (keep) console.log(`kept ${project}`)
  else rmSync(project, { recursive: true, force: true })
}
console.log(`consumer test times: ${timings.join(', ')}`)
if (failures.length > 0) {
  console.error(`consumer test: ${failures.length} check(s) failed: ${failures.join('; ')}`)
  process.exit(1)
}
