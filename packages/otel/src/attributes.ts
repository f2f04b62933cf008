/**
 * Attribute names on memokit's metrics and spans. OpenTelemetry has no cache conventions yet; every name sits under
 * `memokit.` so none collides with a deployment's own labels (Prometheus' `namespace` is usually Kubernetes').
 */
export const ATTR = Object.freeze({
  /** The wrapper's namespace. */
  namespace: 'memokit.namespace',
  /** The wrapper's name (`name` option, or the function's name). */
  function: 'memokit.function',
  /** The storage's `name`. */
  storage: 'memokit.storage',
  /** `local` (a process-local storage) or `remote`. */
  tier: 'memokit.tier',
  /** A call's outcome: hit, stale, stale-if-error, stale-if-timeout, miss, joined, waited, refreshed, bypass, error. */
  outcome: 'memokit.outcome',
  /** On `memokit.call` spans: true when the value came from the cache (hit or one of the stale outcomes). */
  cacheHit: 'memokit.cache_hit',
  /** Why `fn` ran: miss, swr, refresh-ahead, refresh; on a bus event, its reason (e.g. `gap` on `bus-dropped`). */
  reason: 'memokit.reason',
  /** True for a refresh behind a stale or refresh-ahead hit (nobody waits for it). */
  background: 'memokit.background',
  /** A storage operation a cached call traced: get, set or setIfLeased. */
  op: 'memokit.op',
  /** How an operation ended: hit/miss/ok/error for storage operations, ok/error for computations. */
  result: 'memokit.result',
  /** An event's type, e.g. `breaker-open`, `stale-if-error`, `late-result`, `not-cached`, `bus-down`, `bus-dropped`. */
  event: 'memokit.event',
  /** Only on spans, and only when the wrapper's `observeKeys` option publishes keys (a digest, or the raw key). */
  key: 'memokit.key',
} as const)

/** The outcomes that answered from the cache. */
export const CACHE_HIT_OUTCOMES: ReadonlySet<string> = new Set(['hit', 'stale', 'stale-if-error', 'stale-if-timeout'])
