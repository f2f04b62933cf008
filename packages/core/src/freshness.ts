/**
 * The freshness timeline, as pure policy. Vocabulary of RFC 5861, windows measured from the end of freshness:
 *
 *   createdAt ──ttl (fresh)──▶ staleAt ──swr──▶ swrUntil            (stale: served at once, refreshed behind)
 *                              staleAt ──staleIfError──▶ errorUntil  (stale: served only when fn fails or times out)
 *   physical expiry in the storage = staleAt + max(swr, staleIfError)
 *
 * An entry carries its own timeline in its metadata (absolute ms), so every replica reading it agrees on it,
 * whatever options the reader was built with. Entries written without a timeline are fresh until they expire.
 */
import type { EntryMeta } from './storage'

/** Fresh: serve. */
export const FRESH = 0
/** Fresh, past the refresh-ahead point: serve, and refresh in the background. */
export const AHEAD = 1
/** In the stale-while-revalidate window: serve, and refresh in the background. */
export const STALE = 2
/** Only in the stale-if-error window: compute, and serve it if `fn` fails or times out. */
export const FALLBACK = 3
/** Past every window (the storage has not dropped it yet): a miss. */
export const DEAD = 4
export type Freshness = typeof FRESH | typeof AHEAD | typeof STALE | typeof FALLBACK | typeof DEAD

/** Where `now` falls on an entry's timeline. */
export function classify(meta: EntryMeta | undefined, now: number): Freshness {
  const staleAt = meta?.staleAt
  if (staleAt === undefined) return FRESH
  if (now < staleAt) return meta?.refreshAt !== undefined && now >= meta.refreshAt ? AHEAD : FRESH
  if (meta?.swrUntil !== undefined && now < meta.swrUntil) return STALE
  if (meta?.errorUntil !== undefined && now < meta.errorUntil) return FALLBACK
  return DEAD
}

/**
 * Whether a stale value may be served for a failure or timeout at `now`: only inside its staleIfError window.
 * Checked when it is served, not when it was read: a computation's callers may be answered long after their read.
 */
export function servableOnError(meta: EntryMeta, now: number): boolean {
  return meta.errorUntil !== undefined && now < meta.errorUntil
}

/** A duration option resolved per result: ms, or `false` (a per-result `ttl` returning false: don't store). */
export type PerResult = (value: unknown) => number | false

/** The freshness options of one wrapper, resolved (see plan-freshness.ts). */
export interface FreshnessPolicy {
  /** Fresh time in ms for a result; `undefined` as a whole means no expiry. */
  readonly ttl: PerResult | undefined
  readonly swr: PerResult | undefined
  readonly staleIfError: PerResult | undefined
  /** Fraction of the fresh time (0 < f < 1) or ms before `staleAt` at which a hit refreshes ahead. */
  readonly refreshAhead: { readonly fraction: number } | { readonly beforeMs: number } | undefined
  /** Largest random delay added to `staleAt` (and so to the physical expiry): a fraction of the fresh time or ms. */
  readonly jitter: { readonly fraction: number } | { readonly ms: number } | undefined
  /** Uniform in [0, 1); `Math.random` unless the `random` option injects another. */
  readonly random: () => number
  /** True when entries carry a timeline (swr, staleIfError or refreshAhead is on). */
  readonly timeline: boolean
}

/** What a write of `value` at `now` stores: the physical TTL and the timeline, or `false` for "don't store". */
/** An entry's meta while a write builds it (fields set one by one, in the order the entry stores them). */
export type WriteMeta = { -readonly [K in keyof EntryMeta]: EntryMeta[K] }

export interface WriteTimes {
  readonly ttl: number | undefined
  /** A new object per write: the caller may add to it. */
  readonly meta: WriteMeta | undefined
}

const windowOf = (option: PerResult | undefined, value: unknown): number => {
  const ms = option === undefined ? 0 : option(value)
  return ms === false ? 0 : ms
}

export function writeTimes(policy: FreshnessPolicy, value: unknown, now: number): WriteTimes | false {
  const fresh = policy.ttl === undefined ? undefined : policy.ttl(value)
  if (fresh === false) return false
  if (fresh === undefined) return { ttl: undefined, meta: undefined }
  const { jitter } = policy
  const shift =
    jitter === undefined ? 0 : policy.random() * ('fraction' in jitter ? jitter.fraction * fresh : jitter.ms)
  if (!policy.timeline) return { ttl: fresh + shift, meta: undefined }
  const staleAt = now + fresh + shift
  const swr = windowOf(policy.swr, value)
  const staleIfError = windowOf(policy.staleIfError, value)
  const ahead = policy.refreshAhead
  const refreshAt =
    ahead === undefined
      ? undefined
      : 'fraction' in ahead
        ? now + ahead.fraction * fresh
        : Math.max(now, staleAt - ahead.beforeMs)
  // Set one by one rather than spread in: conditional spreads cost several times as much per write (Node 20).
  const meta: WriteMeta = { staleAt }
  if (refreshAt !== undefined) meta.refreshAt = refreshAt
  if (swr > 0) meta.swrUntil = staleAt + swr
  if (staleIfError > 0) meta.errorUntil = staleAt + staleIfError
  return { ttl: staleAt + Math.max(swr, staleIfError) - now, meta }
}
