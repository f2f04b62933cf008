import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Options } from 'tsup'

/** Shared build for every publishable package: ESM + CJS + .d.ts/.d.cts from src/index.ts. */
export const packageConfig: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
}

// Node's lookup: the nearest node_modules/<name> above `from` (pnpm keeps a package's dependencies beside it).
function packageDir(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate)
    if (dirname(dir) === dir) throw new Error(`cannot find ${name} above ${from}`)
  }
}

/**
 * A `/*! ... *\/` banner with the license of every package in `names` and of their dependencies, for a build that
 * bundles them (their licenses require the notice to travel with the code). Resolves from `packageRoot`.
 */
export function bundledLicenses(packageRoot: string, names: readonly string[]): string {
  const notices = new Map<string, string>()
  const visit = (name: string, from: string) => {
    const dir = packageDir(name, from)
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    const id = `${manifest.name}@${manifest.version}`
    if (notices.has(id)) return
    const licenseFile = readdirSync(dir).find((file) => /^(licen[sc]e|copying)(\.|$)/i.test(file))
    if (!licenseFile) throw new Error(`${id} has no license file to bundle with it`)
    const text = readFileSync(join(dir, licenseFile), 'utf8').replaceAll('*/', '* /').trim()
    notices.set(id, `${id} (${manifest.license}):\n\n${text}`)
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, dir)
  }
  for (const name of names) visit(name, packageRoot)
  const lines = ['This package bundles the packages below into its dist/ files; their licenses follow.', '']
  lines.push(...[...notices.values()].join('\n\n').split('\n'))
  return `/*!\n${lines.map((line) => (line ? ` * ${line}` : ' *')).join('\n')}\n */`
}
