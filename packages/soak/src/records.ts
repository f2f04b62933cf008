/**
 * What the soak processes record, in ms since the epoch (every process runs on one machine, so one clock). The
 * checker (check.ts) reads nothing else.
 */
import type { FnName, Run } from './functions'

/** One call a worker made. */
export interface CallRecord {
  /** The worker (`worker-N`). */
  readonly w: string
  readonly f: FnName
  readonly k: number
  /** When the call started and when its result (or error) arrived. */
  readonly s: number
  readonly e: number
  /** The value's truth version, run id and key; absent when the call failed. */
  readonly v?: number
  readonly r?: string
  readonly vk?: number
  /** What memokit reported the call as (`memokit:call` outcome: hit, miss, joined, waited, stale, bypass...). */
  readonly o?: string
  /** The error the caller saw. */
  readonly err?: string
}

/** A worker's records. */
export interface WorkerRecords {
  readonly calls: CallRecord[]
  readonly runs: Run[]
  /** `onError` reports (storage failures memokit absorbed: expected while the server is down). */
  readonly reports: number
  /** Counts of `memokit:event` types (lease-lost, lease-unavailable, ...; a tier's `bus-*` events by reason). */
  readonly events: Record<string, number>
  /** `redis-tiered`: the keys the tier asked its L2 for, and the ones the L2 had. */
  readonly l2Reads?: { readonly asked: number; readonly found: number }
}

/** One update of the truth: version `v` of key `k`, between `b` (before) and `a` (acknowledged). */
export interface UpdateRecord {
  readonly k: number
  readonly v: number
  readonly b: number
  readonly a: number
  /** When the invalidation that followed it completed; absent if it never did before the run ended. */
  i?: number
}

/** What an invalidation covered: one key of every function, every key of every function, or both namespaces. */
export type InvalidationKind = 'delete' | 'clear' | 'namespace'

/** One invalidation by the writer, from its first try to its success (absent `done`: never succeeded). */
export interface InvalidationRecord {
  readonly k: number
  readonly kind: InvalidationKind
  readonly start: number
  done?: number
  /** Tries that failed (the cache server down) before it succeeded. */
  failures: number
}

/** The writer's records. */
export interface WriterRecords {
  readonly updates: UpdateRecord[]
  readonly invalidations: InvalidationRecord[]
}

/** A bus chaos step (`redis-tiered`): every subscriber connection killed at `at` (`CLIENT KILL TYPE pubsub`). */
export interface BusKillRecord {
  readonly at: number
  /** How many connections the server killed. */
  readonly killed: number
}

/**
 * A chaos step: the cache server ended at `killed`, answering again at `restarted` (a cluster: the failover done
 * and the killed master back as a replica).
 */
export interface ChaosRecord {
  readonly killed: number
  readonly restarted: number
  /** What happened, when the server says more (a cluster: which node was killed, which replica took over, when). */
  readonly note?: string
}
