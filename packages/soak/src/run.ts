/**
 * One soak run: starts the cache server, the writer and the workers, lets them run while the chaos step kills and
 * restarts the server, then checks every returned value against the truth's history (check.ts).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ChaosLog, chaos } from './chaos'
import { check, type Verdict } from './check'
import { type Child, startChild } from './child'
import { type ChildConfig, DEFAULTS, type SoakOptions, TIER_SLACK_MS, TIERED_DEFAULTS } from './config'
import { BREAKER_COOLDOWN_MS } from './functions'
import type { BusKillRecord, ChaosRecord, WorkerRecords, WriterRecords } from './records'
import { startCacheServer } from './servers'
import { acceptsDistributed, hasLeases, openFor } from './storages'
import { openTruth } from './truth'

/** What a soak run found. */
export interface SoakReport extends Verdict {
  readonly options: SoakOptions
  /** Whether results were stored through leases, and whether `singleFlight: 'distributed'` was on. */
  readonly leases: boolean
  readonly distributed: boolean
  /** Why leases or distributed mode were off, if they were. */
  readonly notes: readonly string[]
  readonly crash: string
  readonly chaos: readonly ChaosRecord[]
  /** `redis-tiered`: the bus chaos steps (every subscriber killed). */
  readonly busKills: readonly BusKillRecord[]
  /** `redis-tiered`: keys the tiers asked their L2 for and found there, summed over the workers. */
  readonly l2Reads?: { readonly asked: number; readonly found: number }
  readonly updates: number
  readonly invalidations: number
  /** Invalidation tries that failed while the server was down (each retried until it succeeded). */
  readonly invalidationRetries: number
  /** `onError` reports and `memokit:event` counts, summed over the workers. */
  readonly reports: number
  readonly events: Readonly<Record<string, number>>
  /** Wall time of the calling phase, ms. */
  readonly elapsedMs: number
  /** Wall time from the start until every process was ready, ms. */
  readonly setupMs: number
}

/** The machine's shared Redis holds the truth (never the cache server, which the chaos step kills). */
const TRUTH_URL = process.env.SOAK_TRUTH_URL || 'redis://127.0.0.1:6379'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** What the run can use: leases when the storage has them (unless hidden), distributed mode when core takes it. */
function capabilities(options: SoakOptions, url: string, prefix: string) {
  const opened = openFor(options, url, prefix, 'probe')
  const notes: string[] = []
  const members = hasLeases(opened.storage)
  if (!members) notes.push(`the ${options.backend} storage has no lease members: results are stored unfenced`)
  const leases = members && !options.unfenced
  if (options.unfenced) notes.push('--unfenced: the lease members are hidden from core')
  let distributed = false
  if (options.distributed !== 'off' && leases) distributed = acceptsDistributed(opened.storage)
  if (options.distributed === 'on' && !distributed) {
    throw new Error(`--distributed on: core does not accept singleFlight 'distributed' over ${options.backend} here`)
  }
  if (options.distributed !== 'off' && leases && !distributed) {
    notes.push("core does not accept singleFlight: 'distributed' yet: every function runs process-local")
  }
  return { leases, distributed, notes, close: () => opened.close() }
}

/** The workers' L2 reads summed, when their storages were tiers. */
function l2ReadsOf(workers: readonly WorkerRecords[]): Pick<SoakReport, 'l2Reads'> {
  const counted = workers.flatMap((w) => (w.l2Reads === undefined ? [] : [w.l2Reads]))
  if (counted.length === 0) return {}
  const sum = (pick: (r: { asked: number; found: number }) => number) => counted.reduce((n, r) => n + pick(r), 0)
  return { l2Reads: { asked: sum((r) => r.asked), found: sum((r) => r.found) } }
}

/** What the records of a finished run say: the verdict, and the counts of the report. */
function summarize(dir: string, roles: readonly string[], options: SoakOptions, chaosLog: ChaosLog) {
  const read = <T>(role: string): T => JSON.parse(readFileSync(join(dir, `${role}.json`), 'utf8')) as T
  const writer = read<WriterRecords>('writer')
  const workers = roles.filter((role) => role !== 'writer').map((role) => read<WorkerRecords>(role))
  // A tier may serve a copy up to its maxL1Age after the invalidation (check.ts, rule 3); the broken tier is held
  // to the same bound, which its 30 s copies must break.
  const boundMs = options.backend === 'redis-tiered' ? options.maxL1AgeMs + TIER_SLACK_MS : 0
  // A crash explains overlapping runs until the breakers it opened closed again and every lease taken before it
  // would have expired (lease: 1 s).
  // memcached's fenced write is best-effort (two keys): a refused write is readable until its writer deletes it.
  const bestEffortFence = options.backend === 'memcached'
  const verdict = check(workers, writer, chaosLog.server, BREAKER_COOLDOWN_MS * 2 + 1000, boundMs, bestEffortFence)
  const events: Record<string, number> = {}
  for (const w of workers) for (const [type, n] of Object.entries(w.events)) events[type] = (events[type] ?? 0) + n
  return {
    ...verdict,
    chaos: chaosLog.server,
    busKills: chaosLog.bus,
    ...l2ReadsOf(workers),
    updates: writer.updates.length,
    invalidations: writer.invalidations.filter((i) => i.done !== undefined).length,
    invalidationRetries: writer.invalidations.reduce((n, i) => n + i.failures, 0),
    reports: workers.reduce((n, w) => n + w.reports, 0),
    events,
  }
}

/** Runs one soak with `overrides` on top of {@link DEFAULTS} and returns its report. */
export async function runSoak(overrides: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const tiered = overrides.backend === 'redis-tiered' ? TIERED_DEFAULTS : {}
  const options: SoakOptions = { ...DEFAULTS, ...tiered, seed: Date.now(), ...overrides }
  const began = Date.now()
  const id = `${options.backend}-${randomBytes(4).toString('hex')}`
  const dir = mkdtempSync(join(tmpdir(), `memokit-soak-${id}-`))
  const server = await startCacheServer(options.backend, options.port)
  const truth = await openTruth(TRUTH_URL, `memokit-soak:${id}`)
  const children: Child[] = []
  try {
    const prefix = `soak-${id}`
    const can = capabilities(options, server.url, prefix)
    await can.close()
    const base = { options, cacheUrl: server.url, prefix, truthUrl: TRUTH_URL, truthPrefix: `memokit-soak:${id}` }
    const config = (role: string): ChildConfig => ({
      ...base,
      leases: can.leases,
      distributed: can.distributed,
      role,
      out: join(dir, `${role}.json`),
    })
    const roles = ['writer', ...Array.from({ length: options.workers }, (_, i) => `worker-${i}`)]
    for (const role of roles) children.push(startChild(role === 'writer' ? 'writer.ts' : 'worker.ts', config(role)))
    await Promise.all(children.map((c) => c.ready))
    const start = Date.now()
    const setupMs = start - began
    for (const c of children) c.send('go')
    const chaosLog: ChaosLog = { server: [], bus: [] }
    const chaosDone = chaos(server, options, start, chaosLog)
    await sleep(options.seconds * 1000)
    await chaosDone
    for (const c of children) c.send('stop')
    await Promise.all(children.map((c) => c.done))
    const elapsedMs = Date.now() - start
    return {
      ...summarize(dir, roles, options, chaosLog),
      options,
      leases: can.leases,
      distributed: can.distributed,
      notes: can.notes,
      crash: server.crash,
      elapsedMs,
      setupMs,
    }
  } finally {
    for (const c of children) c.kill()
    await server.stop()
    await truth.drop(options.keys).catch(() => {})
    await truth.close()
    // SOAK_KEEP=1 keeps the records (JSON per process) for a closer look.
    if (process.env.SOAK_KEEP) process.stderr.write(`records kept in ${dir}\n`)
    else rmSync(dir, { recursive: true, force: true })
  }
}
