// The freshness rows of issue 9 (section 4): a hit with `swr` on while the entry is fresh, and a stale hit, next to
// memokit's plain hit in S3 (memory) and R1 (Redis). Current memokit only: the before build has no `swr`.
import type { Memokit } from '../memokit'

/** `swr` on, entries fresh for the whole run: what the timeline costs a fresh hit. */
export const SWR_FRESH = { ttl: 3_600_000, swr: 3_600_000 } as const
/**
 * Entries stale 1 ms after their write, inside a 1 h `swr` window: every timed call is a stale hit. The window must
 * outlast the run: a held key whose entry expired would be a miss waiting for ever on its held computation.
 */
export const STALE = { ttl: 1, swr: 3_600_000 } as const

export const SWR_FRESH_NOTE = 'ttl 1 h, swr 1 h: fresh hit with the timeline on'
export const STALE_NOTE = 'ttl 1 ms, swr 1 h: stale hit, its key already refreshing'

/** Why the current memokit can't have these rows (no `swr` option), or undefined. */
export function swrUnsupported(mk: Memokit): string | undefined {
  if (!mk.cacheValue) return mk.reason
  try {
    mk.cacheValue(() => 1, { storage: mk.memoryStorage(), name: 'bench.swr-probe', ...STALE })
    return undefined
  } catch (error) {
    return `cacheValue rejects swr (${error instanceof Error ? error.message : String(error)})`
  }
}

export interface Gated<K, V> {
  /** The function to cache: runs `load`, except that once `hold()` was called it waits for `release()` first. */
  readonly load: (k: K) => Promise<V>
  /**
   * Waits until entries written with `STALE` are stale, then holds every later computation of a held key for the
   * rest of the process (released, a refresh would write to a storage the scenario has closed by then).
   */
  readonly hold: () => Promise<void>
}

/**
 * Keeps stale entries stale while a loop runs: the first stale hit of a key starts its one background refresh,
 * which waits here, so every later hit is a plain stale hit (no refresh, no write) rather than a mix of stale
 * hits, fresh hits and writes whose proportions would depend on timing. `holds` picks the keys held (the hot ones:
 * a miss on another key must still complete).
 */
export function gated<K, V>(load: (k: K) => Promise<V>, holds: (k: K) => boolean = () => true): Gated<K, V> {
  let held = false
  const never = new Promise<never>(() => {})
  return {
    load: (k) => (held && holds(k) ? never : load(k)),
    hold: async () => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      held = true
    },
  }
}
