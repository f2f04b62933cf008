// One process of S5X (scenarios/s5x.ts), started with `fork`: it sets up every row over its own connections and
// answers the scenario's requests over IPC, one at a time: a plain miss, or its share of a stampede at a given time.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Instance, message, type Value, valueFor } from './redis-common'
import { type FromWorker, s5xRows, type ToWorker, WORK_MS } from './scenarios/s5x-rows'

/** Runs per key, over every row of this process (each round uses keys of its own). */
const runs = new Map<number, number>()
let seq = 0
// `by` names the process and the computation, so the scenario can count whose values the callers got.
const load = async (k: number): Promise<Value> => {
  runs.set(k, (runs.get(k) ?? 0) + 1)
  const by = `${process.pid}-${++seq}`
  await sleep(WORK_MS)
  return { ...valueFor(k), by }
}

const instances = new Map<string, Instance>()

async function init(url: string, prefix: string): Promise<FromWorker> {
  const skipped: string[] = []
  for (const row of await s5xRows(prefix)) {
    try {
      instances.set(row.name, await row.make(url, load))
    } catch (error) {
      skipped.push(`${row.name} skipped: ${message(error)}`)
    }
  }
  return { type: 'ready', rows: [...instances.keys()], skipped }
}

async function calls(row: string, key: number, count: number, at: number): Promise<FromWorker> {
  const inst = instances.get(row)
  if (!inst) throw new Error(`no row ${row}`)
  const before = runs.get(key) ?? 0
  await sleep(Math.max(0, at - Date.now()))
  const started = performance.timeOrigin + performance.now()
  const latencies = new Array<number>(count).fill(Number.NaN)
  const values = new Set<string>()
  const errors = new Set<string>()
  let wrong = 0
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const t0 = performance.now()
      try {
        const v = await inst.call(key)
        latencies[i] = performance.now() - t0
        if (v?.id === key && typeof v.by === 'string') values.add(v.by)
        else wrong++
      } catch (error) {
        wrong++
        errors.add(message(error))
      }
    }),
  )
  const outcome = {
    runs: (runs.get(key) ?? 0) - before,
    started,
    latencies,
    values: [...values],
    wrong,
    errors: [...errors],
  }
  return { type: 'outcome', ...outcome }
}

async function handle(msg: ToWorker): Promise<FromWorker | undefined> {
  switch (msg.type) {
    case 'init':
      return init(msg.url, msg.prefix)
    case 'miss':
      return calls(msg.row, msg.key, 1, 0)
    case 'stampede':
      return calls(msg.row, msg.key, msg.calls, msg.at)
    case 'close':
      for (const inst of instances.values()) await inst.close().catch(() => {})
      process.exit(0)
  }
}

process.on('message', (msg: ToWorker) => {
  handle(msg).then(
    (reply) => reply && process.send?.(reply),
    (error: unknown) => process.send?.({ type: 'failed', error: message(error) } satisfies FromWorker),
  )
})
// The scenario gone (crashed or killed): nobody will close this process.
process.on('disconnect', () => process.exit(0))
