// Extracts the TypeScript samples of every README so scripts/consumer-test.mjs can type-check them (strict) against
// the installed tarballs, and maps tsc's messages back to README file and line.
//
// Which blocks: every fenced block whose info string is `ts` or `typescript` in README.md, docs/*.md,
// packages/*/README.md, examples/*/README.md and bench/README.md. Each block is checked as a module of its own, so blocks never see each
// other's declarations, with `strict`, `module: preserve` and `moduleResolution: bundler` (top-level await and
// extensionless relative imports work) against the installed tarballs and the backends' client libraries. A sample
// that must not compile says so with `// @ts-expect-error` on the line before.
//
// Preludes: a sample that is a fragment (it uses `fetchUser`, `log` or `storage` without defining them) gets a
// hidden prelude from an HTML comment that ends right before the fence (blank lines may separate them):
//
//   <!-- ts-prelude
//   import { redisStorage } from '@memokit/redis'
//   declare function fetchUser(id: number): Promise<{ id: number; name: string }>
//   -->
//   ```ts
//
// The prelude's lines go before the sample's. A `// file: <path>` line inside the comment starts a helper module
// instead, written at <path> relative to the sample (each sample is `<dir of its own>/sample/index.ts`, so
// `../src/index.ts` is private to it); its lines, up to the next `// file:` line, are the module's text. Use it for
// relative imports such as `import { myStorage } from '../src'`.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const PRELUDE_OPEN = /^\s*<!--\s*ts-prelude:?\s?(.*)$/
const FENCE_OPEN = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)/
const TS_LANGS = new Set(['ts', 'typescript'])

/** The README files whose samples are checked, relative to `root`. */
export function readmeFiles(root) {
  const files = ['README.md', 'bench/README.md']
  if (existsSync(join(root, 'docs'))) {
    for (const page of readdirSync(join(root, 'docs')).sort()) if (page.endsWith('.md')) files.push(`docs/${page}`)
  }
  for (const group of ['packages', 'examples']) {
    for (const dir of readdirSync(join(root, group)).sort()) files.push(`${group}/${dir}/README.md`)
  }
  return files.filter((file) => existsSync(join(root, file)))
}

/**
 * The ts blocks of one README: `{ readme, line, code: [{ text, line }], files: [{ path, lines }] }`, where each
 * `line` is 1-based in the README and `code` already has the prelude's lines in front of the sample's.
 */
export function extractSamples(readme, text) {
  const lines = text.split('\n')
  const samples = []
  let prelude
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(PRELUDE_OPEN)
    if (open) {
      prelude = readPrelude(readme, lines, i, open[1])
      i = prelude.endIndex
      continue
    }
    const fence = lines[i].match(FENCE_OPEN)
    if (!fence) {
      if (lines[i].trim() !== '') prelude = undefined
      continue
    }
    const [, indent, marker, lang] = fence
    const body = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const close = lines[j].trim()
      if (close.startsWith(marker[0].repeat(marker.length)) && /^[`~]+$/.test(close)) break
      body.push({ text: lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j], line: j + 1 })
    }
    if (TS_LANGS.has(lang.toLowerCase())) {
      samples.push({ readme, line: i + 1, code: [...(prelude?.code ?? []), ...body], files: prelude?.files ?? [] })
    }
    prelude = undefined
    i = j
  }
  return samples
}

// Reads `<!-- ts-prelude ... -->` starting at index `start`; `first` is what follows the marker on that line.
function readPrelude(readme, lines, start, first) {
  const code = []
  const files = []
  let target = code
  const take = (text, index) => {
    const file = text.match(/^\s*\/\/\s*file:\s*(\S+)\s*$/)
    if (file) {
      files.push({ path: file[1], lines: [] })
      target = files.at(-1).lines
    } else {
      target.push({ text, line: index + 1 })
    }
  }
  for (let i = start, text = first; i < lines.length; i++, text = lines[i]) {
    const end = text.indexOf('-->')
    if (end >= 0) {
      if (text.slice(0, end).trim() !== '') take(text.slice(0, end), i)
      return { code, files, endIndex: i }
    }
    if (i > start || text.trim() !== '') take(text, i)
  }
  throw new Error(`${readme}:${start + 1}: a ts-prelude comment is not closed with -->`)
}

/**
 * Writes every sample under `dir` and returns a map from each written file (absolute path) to the README position
 * of each of its lines, so tsc's messages can point at the README.
 */
export function writeSamples(samples, dir) {
  const origins = new Map()
  const write = (file, entries, readme) => {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${entries.map((entry) => entry.text).join('\n')}\n`)
    origins.set(
      file,
      entries.map((entry) => ({ readme, line: entry.line })),
    )
  }
  for (const sample of samples) {
    const slug = `${sample.readme.replace(/\/?README\.md$/, '').replace(/\W+/g, '-') || 'root'}-L${sample.line}`
    const main = join(dir, slug, 'sample', 'index.ts')
    write(main, sample.code, sample.readme)
    for (const file of sample.files) write(resolve(dirname(main), file.path), file.lines, sample.readme)
  }
  return origins
}

/**
 * Rewrites tsc's `file(line,col): error ...` messages (`--pretty false`) to README positions where they map, and
 * sorts them by README and line. Continuation lines stay with their message.
 */
export function mapDiagnostics(output, cwd, origins) {
  const messages = []
  for (const text of output.split('\n')) {
    if (text.trim() === '') continue
    const match = text.match(/^(.+?)\((\d+),(\d+)\): (.*)$/)
    if (!match) {
      if (messages.length > 0) messages.at(-1).text += `\n${text}`
      else messages.push({ key: '', text })
      continue
    }
    const origin = origins.get(resolve(cwd, match[1]))?.[Number(match[2]) - 1]
    if (!origin) {
      messages.push({ key: match[1], text })
      continue
    }
    const where = `${origin.readme}:${origin.line}:${match[3]}`
    messages.push({
      key: `${origin.readme}:${String(origin.line).padStart(6, '0')}`,
      text: `${where} ${match[4]}  [checked as ${relative(cwd, resolve(cwd, match[1]))}]`,
    })
  }
  return messages
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((message) => message.text)
    .join('\n')
}

/** Reads and extracts the samples of every README under `root`. */
export function collectSamples(root) {
  return readmeFiles(root).flatMap((file) => extractSamples(file, readFileSync(join(root, file), 'utf8')))
}
