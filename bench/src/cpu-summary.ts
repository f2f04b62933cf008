// Prints the functions with the most self time in the largest .cpuprofile of a directory.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}
interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
}

const dir = process.argv[2] ?? 'prof'
const top = Number(process.argv[3] ?? 15)
const profiles = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile)
// tsx's loader thread writes a profile too, mostly idle: take the one with the most busy samples.
const busy = (p: Profile): number => {
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id))
  return p.samples.filter((id) => !idle.has(id)).length
}
const profile = profiles.sort((a, b) => busy(b) - busy(a))[0]
if (!profile) {
  console.error(`no .cpuprofile in ${dir}`)
  process.exit(2)
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<string, number>()
for (const id of profile.samples) {
  const frame = byId.get(id)?.callFrame
  const name = frame ? `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop() ?? ''}` : '?'
  self.set(name, (self.get(name) ?? 0) + 1)
}
const total = profile.samples.length
for (const [name, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${name}`)
}
