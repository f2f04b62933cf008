import { header, makeConfig, rowsTable, type ScenarioResult } from './harness'
import { h1 } from './scenarios/h1'
import { k1 } from './scenarios/k1'
import { l1 } from './scenarios/l1'
import { p1 } from './scenarios/p1'
import { r1 } from './scenarios/r1'
import { s1 } from './scenarios/s1'
import { s2 } from './scenarios/s2'
import { s3 } from './scenarios/s3'
import { s5 } from './scenarios/s5'
import { s5x } from './scenarios/s5x'
import { s6 } from './scenarios/s6'
import { t1 } from './scenarios/t1'
import type { Scenario } from './scenarios/types'

const scenarios: readonly Scenario[] = [s1, s2, s3, s5, s5x, s6, r1, p1, l1, h1, k1, t1]

/**
 * `--part i/n`: every n-th scenario of the list from the i-th (1-based), so n processes started with 1/n .. n/n run
 * each scenario once between them (the bench smoke runs two side by side: most of a quick run is fixed time slices,
 * waits and start-up, not CPU). Undefined without `--part`; exits on a malformed one.
 */
function part(args: readonly string[]): ((index: number) => boolean) | undefined {
  const at = args.indexOf('--part')
  if (at === -1) return undefined
  const m = /^(\d+)\/(\d+)$/.exec(args[at + 1] ?? '')
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0]
  if (i < 1 || i > n) {
    console.error(`--part ${args[at + 1] ?? ''}: expected i/n with 1 <= i <= n, e.g. --part 1/2`)
    process.exit(2)
  }
  return (index) => index % n === i - 1
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const quick = args.includes('--quick')
  const inPart = part(args)
  const wanted = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--part').map((a) => a.toUpperCase())
  const unknown = wanted.filter((w) => !scenarios.some((s) => s.id === w))
  if (unknown.length > 0) {
    console.error(`unknown scenario(s) ${unknown.join(', ')}; known: ${scenarios.map((s) => s.id).join(', ')}`)
    process.exit(2)
  }
  const cfg = makeConfig(quick)
  console.log(header(cfg))
  const results: ScenarioResult[] = []
  for (const [index, s] of scenarios.entries()) {
    if (wanted.length > 0 && !wanted.includes(s.id)) continue
    if (inPart && !inPart(index)) continue
    console.log(`\n## ${s.id}: ${s.title}`)
    const started = Date.now()
    const r = await s.run(cfg, quick ? () => {} : (line) => process.stderr.write(`${line}\n`))
    if (r.rows.length > 0) console.log(rowsTable(r.rows))
    for (const line of r.lines) console.log(line)
    console.log(`(${s.id} took ${((Date.now() - started) / 1000).toFixed(1)} s)`)
    results.push(r)
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
