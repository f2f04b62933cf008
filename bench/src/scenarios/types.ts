import stringify from 'fast-json-stable-stringify'
import type { BenchConfig, ScenarioResult } from '../harness'

/** One scenario of the issue: S1, S2, ... */
export interface Scenario {
  readonly id: string
  readonly title: string
  run(cfg: BenchConfig, log: (line: string) => void): Promise<ScenarioResult>
}

/** Indices into the hot key set, pre-drawn so the loops do no random-number work. 1024 long (mask 1023). */
export function hotKeys(count: number): Int32Array {
  const keys = new Int32Array(1024)
  for (let i = 0; i < keys.length; i++) keys[i] = Math.floor(Math.random() * count)
  return keys
}

/**
 * Throws unless `actual` deep-equals `expected` (key order aside: some peers store JSON with sorted keys):
 * a contender returning wrong values must not be timed.
 */
export function assertSame(name: string, actual: unknown, expected: unknown): void {
  const a = stringify(actual)
  const e = stringify(expected)
  if (a !== e) throw new Error(`${name} returned ${a.slice(0, 200)}..., expected ${e.slice(0, 200)}...`)
}
