// S5X (issue 10, section 5): S5's stampede across processes. Worker processes (../s5x-worker.ts) each fire their
// share of the calls on one cold key at the same moment, over one Redis; the table counts the cached function's
// runs in all of them together and the callers' latency against a plain miss.
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { cleanup, reachable, redisUrl } from '../redis-common'
import { type RoundSample, s5xTable } from './s5x-report'
import { type FromWorker, type Outcome, s5xRows, type ToWorker, WORK_MS } from './s5x-rows'
import type { Scenario } from './types'

const PROCESSES = 4
const CALLS_PER_PROCESS = 250
/** The stampede starts this long after it is sent, ms, so every worker has the request before the moment comes. */
const START_DELAY_MS = 50
/** A worker that takes longer than this to answer is taken for stuck, ms. */
const ASK_TIMEOUT_MS = 60_000
const KEY_BASE = 7_000_000
const WORKER = fileURLToPath(new URL('../s5x-worker.ts', import.meta.url))

interface Worker {
  ask(msg: ToWorker): Promise<FromWorker>
  close(): Promise<void>
}

function startWorker(): Worker {
  // The parent's execArgv carries `--import tsx`, which the TypeScript worker needs.
  const child: ChildProcess = fork(WORKER, [], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Structured clone, not JSON: a failed call's NaN latency stays NaN.
    serialization: 'advanced',
  })
  let exited: string | undefined
  child.on('exit', (code, signal) => {
    exited = `worker ${child.pid} exited (${signal ?? code})`
  })
  const ask = (msg: ToWorker): Promise<FromWorker> =>
    new Promise((resolve, reject) => {
      if (exited !== undefined) return reject(new Error(exited))
      const done = (error: Error | undefined, reply?: FromWorker): void => {
        clearTimeout(timer)
        child.off('message', onMessage)
        child.off('exit', onExit)
        if (error) reject(error)
        else if (reply?.type === 'failed') reject(new Error(`worker ${child.pid}: ${reply.error}`))
        else resolve(reply as FromWorker)
      }
      const onMessage = (reply: FromWorker): void => done(undefined, reply)
      const onExit = (): void => done(new Error(exited ?? `worker ${child.pid} exited`))
      const timer = setTimeout(
        () => done(new Error(`worker ${child.pid}: no answer to ${msg.type} in ${ASK_TIMEOUT_MS} ms`)),
        ASK_TIMEOUT_MS,
      )
      child.on('message', onMessage)
      child.on('exit', onExit)
      child.send(msg)
    })
  const close = async (): Promise<void> => {
    if (exited !== undefined) return
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.send({ type: 'close' } satisfies ToWorker)
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await gone
    clearTimeout(timer)
  }
  return { ask, close }
}

async function outcome(reply: Promise<FromWorker>): Promise<Outcome> {
  const r = await reply
  if (r.type !== 'outcome') throw new Error(`expected an outcome, got ${r.type}`)
  return r
}

/** The rows every worker could set up, in the rows' order, and a line for each that some could not. */
async function initWorkers(workers: readonly Worker[], url: string, prefix: string) {
  const replies = await Promise.all(workers.map((w) => w.ask({ type: 'init', url, prefix })))
  const ready = replies.map((r) =>
    r.type === 'ready' ? r : { rows: [] as string[], skipped: [`a worker answered ${r.type} to init`] },
  )
  const rows = (await s5xRows(prefix)).filter((row) => ready.every((r) => r.rows.includes(row.name)))
  const skipped = [...new Set(ready.flatMap((r) => r.skipped))]
  return { rows, skipped }
}

/** What one run does: processes, calls per process, rounds, and plain misses per row and round. */
interface Settings {
  readonly processes: number
  readonly calls: number
  readonly rounds: number
  readonly misses: number
}

// The smoke run only proves every row still runs across processes: two processes start in half the time of four
// (each loads every peer library and memokit's sources through tsx).
const settings = (quick: boolean): Settings =>
  quick
    ? { processes: 2, calls: 50, rounds: 1, misses: 1 }
    : { processes: PROCESSES, calls: CALLS_PER_PROCESS, rounds: 9, misses: 3 }

/** One round of one row: plain misses in one process, then the stampede in all of them on a fresh key. */
async function round(
  workers: readonly Worker[],
  row: string,
  keys: { next: number },
  s: Settings,
  lone: Worker,
): Promise<RoundSample> {
  const plain: number[] = []
  const wrong: string[] = []
  for (let m = 0; m < s.misses; m++) {
    const o = await outcome(lone.ask({ type: 'miss', row, key: keys.next++ }))
    if (o.wrong > 0) wrong.push(`plain miss: ${o.errors[0] ?? 'wrong value'}`)
    else plain.push(o.latencies[0] as number)
  }
  const key = keys.next++
  const at = Date.now() + START_DELAY_MS
  const outs = await Promise.all(workers.map((w) => outcome(w.ask({ type: 'stampede', row, key, calls: s.calls, at }))))
  for (const o of outs) if (o.wrong > 0) wrong.push(`${o.wrong} calls: ${o.errors[0] ?? 'wrong value'}`)
  const starts = outs.map((o) => o.started)
  return {
    plain,
    latencies: outs.flatMap((o) => o.latencies.filter((x) => !Number.isNaN(x))),
    runs: outs.map((o) => o.runs),
    values: new Set(outs.flatMap((o) => o.values)).size,
    wrong,
    skew: Math.max(...starts) - Math.min(...starts),
  }
}

/** S5X: the stampede of S5 across processes over Redis. */
export const s5x: Scenario = {
  id: 'S5X',
  title: `${PROCESSES} processes x ${CALLS_PER_PROCESS} concurrent calls on one cold key over Redis (fn takes ${WORK_MS} ms): fn runs in total, and the callers' latency against a plain miss`,
  async run(cfg, log) {
    const url = redisUrl()
    const down = await reachable(url)
    const result = (lines: string[]) => ({ id: 'S5X', title: this.title, rows: [], lines })
    if (down !== undefined) return result([`S5X skipped: Redis at ${url} unreachable (${down})`])
    const s = settings(cfg.quick)
    const prefix = `mkbench-s5x-${process.pid}-${randomBytes(4).toString('hex')}`
    const lines = [
      `server ${url}, key prefix ${prefix} (removed at the end); ${s.processes} processes x ${s.calls} calls; ${s.rounds} rounds after one unrecorded, rows in turn (order rotated), a fresh key each time;`,
      `plain miss: one call on a fresh key in one process (${s.misses} per row and round); latency: from call to answer, all ${s.processes * s.calls} calls`,
    ]
    const started = Date.now()
    const workers = Array.from({ length: s.processes }, startWorker)
    try {
      const { rows, skipped } = await initWorkers(workers, url, prefix)
      log(`  S5X: ${s.processes} workers ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      const samples = new Map<string, RoundSample[]>(rows.map((r) => [r.name, []]))
      const keys = { next: KEY_BASE }
      // Round 0 is the warm-up (connections, JIT, the peers' first-use paths) and is not recorded.
      for (let r = 0; r <= s.rounds; r++) {
        for (let k = 0; k < rows.length; k++) {
          const row = rows[(k + r) % rows.length] as (typeof rows)[number]
          const sample = await round(workers, row.name, keys, s, workers[r % s.processes] as Worker)
          if (r > 0) samples.get(row.name)?.push(sample)
        }
        log(`  S5X round ${r}/${s.rounds}${r === 0 ? ' (warm-up)' : ''}`)
      }
      lines.push(s5xTable(rows, samples, s.processes), ...skipped)
    } finally {
      await Promise.all(workers.map((w) => w.close()))
      const removed = await cleanup(url, prefix).catch(() => -1)
      lines.push(`cleanup: ${removed} keys under ${prefix}* removed`)
    }
    return result(lines)
  },
}
