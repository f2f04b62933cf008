// Instructions per hit by function, from two callgrind runs of one scenario that differ only in the number of
// hits, with the JIT code named from V8's perf map (bench README, Profiling):
//
//   node --import tsx src/callgrind-names.ts <small.out> <large.out> <hits difference> [<base small> <base large>]
//
// Each run is `valgrind --tool=callgrind --callgrind-out-file=<x.out> node --single-threaded --perf-basic-prof ...`,
// with V8's map (/tmp/perf-<pid>.map) copied to `<x.out>.map`. Callgrind sees JIT code as bare addresses; the map
// gives each its JS function. The difference of the two runs, divided by the difference in hits, leaves out
// startup and warm-up. With a base pair (the raw read, or the build before a change), the table shows both and sorts
// by the difference. Judge by the second total: the first includes compilation and collections that fall unevenly.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'

interface Symbol {
  readonly start: number
  readonly end: number
  readonly name: string
}

function perfMap(path: string): Symbol[] {
  if (!existsSync(path)) return []
  const symbols: Symbol[] = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line)
    if (!match) continue
    const start = Number.parseInt(match[1] as string, 16)
    symbols.push({ start, end: start + Number.parseInt(match[2] as string, 16), name: match[3] as string })
  }
  // V8 reuses the addresses of collected code and the map keeps every entry: of two entries at one address, the
  // later one (the code that ran there last) names it. A stable sort keeps file order among equal starts.
  const sorted = symbols.sort((a, b) => a.start - b.start)
  return sorted.filter((s, i) => sorted[i + 1]?.start !== s.start)
}

// The entry starting last at or before `address`, if it covers it: code placed over older, collected code starts
// inside the older entry's range, and is what ran there since.
function nameAt(symbols: readonly Symbol[], address: number): string | undefined {
  let lo = 0
  let hi = symbols.length - 1
  let found: Symbol | undefined
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const s = symbols[mid] as Symbol
    if (address < s.start) hi = mid - 1
    else {
      found = s
      lo = mid + 1
    }
  }
  return found !== undefined && address < found.end ? found.name : undefined
}

/** Self instructions by function name; JIT addresses named, each name's clones (`'2`) summed. */
function costs(out: string): Map<string, number> {
  const symbols = perfMap(`${out}.map`)
  const text = execFileSync('callgrind_annotate', ['--threshold=100', out], { encoding: 'utf8', maxBuffer: 1 << 28 })
  const byName = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$/.exec(line)
    if (!match || line.includes('PROGRAM TOTALS')) continue
    let name = (match[2] as string).split(' [')[0] as string
    const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(name)
    const named = jit ? nameAt(symbols, Number.parseInt(jit[1] as string, 16)) : undefined
    // An unnamed JIT address differs from run to run: pooled, so the two runs' difference still counts it.
    // Without its line and column, so a function keeps its name across builds that moved it.
    if (jit) name = named === undefined ? '(unnamed code)' : `JIT ${named.replace(/:\d+:\d+$/, '')}`
    name = name.replace(/'\d+$/, '')
    byName.set(name, (byName.get(name) ?? 0) + Number((match[1] as string).replaceAll(',', '')))
  }
  return byName
}

const [small, large, hitsText, baseSmall, baseLarge] = process.argv.slice(2)
if (small === undefined || large === undefined || hitsText === undefined) {
  console.error('usage: callgrind-names.ts <small.out> <large.out> <hits difference> [<base small> <base large>]')
  process.exit(2)
}
const hits = Number(hitsText)
const perHit = (a: Map<string, number>, b: Map<string, number>, name: string): number =>
  ((b.get(name) ?? 0) - (a.get(name) ?? 0)) / hits
const [s, l] = [costs(small), costs(large)]
const base: [Map<string, number>, Map<string, number>] | undefined =
  baseSmall && baseLarge ? [costs(baseSmall), costs(baseLarge)] : undefined
const names = new Set([...s.keys(), ...l.keys(), ...(base ? [...base[0].keys(), ...base[1].keys()] : [])])
const rows = [...names].map((name) => {
  const own = perHit(s, l, name)
  const other = base ? perHit(base[0], base[1], name) : 0
  return { name, own, other }
})
// What lands in one run's window and not the other's however long they run: the JIT compiler, the full garbage
// collections (timer-driven under valgrind's slowness), module loading. Left out of the second total.
const WARMUP =
  /compiler::|Compiler|Scanner|Parser|Marking|MarkCompact|Sweep|Scaveng|Evacuat|cjs-module-lexer|source_map|register-|esm\/|cjs\/loader|Ast[A-Z]|tsx\/dist/
const total = (pick: (r: (typeof rows)[number]) => number, steady: boolean): number =>
  rows.reduce((sum, r) => (steady && WARMUP.test(r.name) ? sum : sum + pick(r)), 0)
const both = (steady: boolean): string =>
  `${total((r) => r.own, steady).toFixed(0)}${base ? ` (base ${total((r) => r.other, steady).toFixed(0)})` : ''}`
console.log(`instructions per hit: ${both(false)}; without compilation, full collections and loading: ${both(true)}`)
// Largest first; LEAST=1 puts the largest savings (most negative differences) first.
const sign = process.env.LEAST === '1' ? -1 : 1
rows.sort((a, b) => sign * (base ? b.own - b.other - (a.own - a.other) : b.own - a.own))
for (const r of rows.slice(0, Number(process.env.TOP ?? 40))) {
  const cells = base ? [r.own, r.other, r.own - r.other] : [r.own]
  console.log(`${cells.map((c) => c.toFixed(0).padStart(8)).join(' ')}  ${r.name.slice(0, 120)}`)
}
