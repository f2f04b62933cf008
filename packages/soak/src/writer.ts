/**
 * The soak's writer process: updates the truth of a random hot key, then invalidates it (a key delete on every
 * function, a clear of every function, or a clear of both namespaces), retrying until the invalidation succeeds,
 * and records when each update and each invalidation happened. One at a time, so the invalidation after version
 * v+1 of a key completes before v+2 exists: version v is right until the invalidation after v+1 completed.
 */
import { writeFileSync } from 'node:fs'
import { childMain } from './child'
import { between, type ChildConfig, random } from './config'
import { FN_NAMES, type Workload, workload } from './functions'
import type { InvalidationKind, InvalidationRecord, WriterRecords } from './records'
import { connect, type OpenStorage, openFor, withoutLeases } from './storages'
import { openTruth, type Truth } from './truth'

interface State {
  readonly config: ChildConfig
  readonly opened: OpenStorage
  readonly truth: Truth
  readonly load: Workload
  readonly rand: () => number
  readonly records: WriterRecords
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function setup(config: ChildConfig): Promise<State> {
  const opened = openFor(config.options, config.cacheUrl, config.prefix, config.role)
  const storage = config.leases ? opened.storage : withoutLeases(opened.storage)
  const truth = await openTruth(config.truthUrl, config.truthPrefix)
  // The writer never calls the functions: its wrappers only address the same entries for the invalidations.
  const load = workload(
    config,
    storage,
    truth,
    () => 0,
    () => {},
  )
  await connect(opened.storage)
  return {
    config,
    opened,
    truth,
    load,
    rand: random(config.options.seed * 31),
    records: { updates: [], invalidations: [] },
  }
}

function pickKind(rand: () => number): InvalidationKind {
  const x = rand()
  return x < 0.7 ? 'delete' : x < 0.85 ? 'clear' : 'namespace'
}

function invalidate(load: Workload, kind: InvalidationKind, key: number): Promise<unknown> {
  if (kind === 'namespace') return load.clearAll()
  if (kind === 'clear') return Promise.all(FN_NAMES.map((f) => load.fns[f].clear()))
  return Promise.all(FN_NAMES.map((f) => load.fns[f].delete(key)))
}

/** Invalidates until it succeeds (the cache server may be down for a while); `false` if stopped first. */
async function untilInvalidated(state: State, record: InvalidationRecord, stopped: () => boolean): Promise<boolean> {
  for (;;) {
    try {
      await invalidate(state.load, record.kind, record.k)
      return true
    } catch {
      record.failures++
      if (stopped()) return false
      await sleep(50)
    }
  }
}

async function run(state: State, stopped: () => boolean): Promise<void> {
  const { config, rand, truth, records } = state
  while (!stopped()) {
    const k = Math.floor(rand() * config.options.keys)
    const b = Date.now()
    const v = await truth.bump(k)
    const update = { k, v, b, a: Date.now() } as WriterRecords['updates'][number]
    records.updates.push(update)
    const invalidation: InvalidationRecord = { k, kind: pickKind(rand), start: Date.now(), failures: 0 }
    records.invalidations.push(invalidation)
    if (await untilInvalidated(state, invalidation, stopped)) {
      invalidation.done = Date.now()
      update.i = invalidation.done
    }
    await sleep(between(rand, config.options.updateMs))
  }
}

async function finish(state: State): Promise<void> {
  writeFileSync(state.config.out, JSON.stringify(state.records))
  await state.opened.close().catch(() => {})
  await state.truth.close()
}

childMain(setup, run, finish)
