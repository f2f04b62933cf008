/**
 * A soak worker process: `loops` concurrent loops calling random workload functions on random hot keys until
 * told to stop, recording every call (its interval, value, run id and memokit's outcome) and every run of `fn`.
 * Calls fail open: a caller error is a finding, never expected.
 */
import diagnostics from 'node:diagnostics_channel'
import { writeFileSync } from 'node:fs'
import { CHANNELS } from '@memokit/core'
import { childMain } from './child'
import { between, type ChildConfig, random } from './config'
import { type FnName, type Run, type Value, type Workload, workload } from './functions'
import type { CallRecord, WorkerRecords } from './records'
import { connect, type OpenStorage, openFor, withoutLeases } from './storages'
import { openTruth, type Truth } from './truth'

interface State {
  readonly config: ChildConfig
  readonly opened: OpenStorage
  readonly truth: Truth
  readonly load: Workload
  readonly rand: () => number
  readonly calls: CallRecord[]
  readonly events: Record<string, number>
  reports: number
}

// The context of the `memokit:call` trace that started last: a call publishes its start synchronously, so right
// after the wrapper returns, this is that call's context (its outcome is final once its promise settles).
let lastStarted: { outcome?: string } | undefined
const noop = () => {}

async function setup(config: ChildConfig): Promise<State> {
  const opened = openFor(config.options, config.cacheUrl, config.prefix, config.role)
  const storage = config.leases ? opened.storage : withoutLeases(opened.storage)
  const truth = await openTruth(config.truthUrl, config.truthPrefix)
  const index = Number(config.role.split('-')[1] ?? 0)
  const rand = random(config.options.seed * 31 + index + 1)
  const state: State = {
    config,
    opened,
    truth,
    rand,
    calls: [],
    events: {},
    reports: 0,
    load: workload(
      config,
      storage,
      truth,
      () => between(rand, config.options.fnMs),
      () => state.reports++,
    ),
  }
  const tracing = (diagnostics as unknown as { tracingChannel(name: string): { subscribe(h: object): void } })
    .tracingChannel
  tracing(CHANNELS.call).subscribe({
    start: (context: { outcome?: string }) => {
      lastStarted = context
    },
    end: noop,
    asyncStart: noop,
    asyncEnd: noop,
    error: noop,
  })
  diagnostics.subscribe(CHANNELS.event, (message) => {
    const { type, reason } = message as { type: string; reason?: string }
    // A tier's bus events carry why (`bus-dropped:up`: its L1 dropped after a resubscription): counted apart.
    const name = reason === undefined ? type : `${type}:${reason}`
    state.events[name] = (state.events[name] ?? 0) + 1
    if (type === 'lease-lost') markLost(state.load.runs, message as { functionName?: string; key?: string })
  })
  // Connect before 'ready', so the first calls don't measure connection set-up.
  await connect(opened.storage)
  return state
}

/**
 * Stamps the run whose result the fence just refused: the latest run of that function and key in this worker
 * (its write follows its `fn`). Keys are `<function>:[<k>]` (one number argument).
 */
function markLost(runs: readonly Run[], { functionName, key }: { functionName?: string; key?: string }): void {
  const k = Number(/:\[(\d+)\]$/.exec(key ?? '')?.[1])
  for (let i = runs.length - 1; i >= 0; i--) {
    const run = runs[i] as Run
    if (run.f === functionName && run.k === k) {
      run.l = Date.now()
      return
    }
  }
}

/** Which function a call goes to: mostly the two single-flight modes, some stale-while-revalidate. */
function pickFn(rand: () => number): FnName {
  const x = rand()
  return x < 0.4 ? 'plain' : x < 0.8 ? 'dist' : 'swr'
}

async function loop(state: State, stopped: () => boolean): Promise<void> {
  const { config, rand, calls, load } = state
  while (!stopped()) {
    const f = pickFn(rand)
    const k = Math.floor(rand() * config.options.keys)
    const s = Date.now()
    lastStarted = undefined
    let pending: Promise<Value>
    try {
      pending = load.fns[f](k)
    } catch (error) {
      pending = Promise.reject(error)
    }
    // (TypeScript can't see that the call above set it.)
    const context = lastStarted as { outcome?: string } | undefined
    try {
      const value = await pending
      const e = Date.now()
      calls.push({ w: config.role, f, k, s, e, v: value?.v, r: value?.r, vk: value?.k, o: context?.outcome })
    } catch (error) {
      calls.push({ w: config.role, f, k, s, e: Date.now(), o: context?.outcome, err: String(error) })
    }
    await new Promise((resolve) => setTimeout(resolve, between(rand, config.options.thinkMs)))
  }
}

async function run(state: State, stopped: () => boolean): Promise<void> {
  await Promise.all(Array.from({ length: state.config.options.loops }, () => loop(state, stopped)))
}

async function finish(state: State): Promise<void> {
  // Background refreshes (swr) may still run: give them their time, so their runs are complete.
  await new Promise((resolve) => setTimeout(resolve, state.config.options.fnMs[1] + 50))
  const records: WorkerRecords = {
    calls: state.calls,
    runs: state.load.runs,
    reports: state.reports,
    events: state.events,
    ...(state.opened.l2Reads === undefined ? {} : { l2Reads: state.opened.l2Reads }),
  }
  writeFileSync(state.config.out, JSON.stringify(records))
  await state.opened.close().catch(() => {})
  await state.truth.close()
}

childMain(setup, run, finish)
