/**
 * Helpers shared by the storage backends (`@memokit/redis`, `@memokit/memcached`, `@memokit/mongodb`,
 * `@memokit/file`), published as `@memokit/core/backend`. Not needed to use memokit; useful to write a backend
 * that validates and reports the way the bundled ones do.
 */
import { defaultPrefix } from './default-prefix'
import { ConfigError, StorageError, type StorageOp } from './errors'

export { storageClosed } from './clear-retry'
export { type CloseGate, type CloseGateHooks, createCloseGate } from './close-gate'
export { createDeadlineQueue, type Deadline, type DeadlineQueue } from './deadlines'
export { defaultPrefix } from './default-prefix'
export { checkLeaseArgs, checkLeaseToken, checkLeaseTtl } from './lease-args'
export { LEASE_MEMBERS } from './lease-options'
export { createWriteTracker, type WriteTracker } from './write-order'

/** Default `operationTimeoutMs` of the network backends: 1000 ms. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 1000

// String.prototype.isWellFormed (Node 20+, which every package requires; not in the ES2022 lib compiled against).
type WellFormed = string & { isWellFormed(): boolean }

/**
 * True when `text` holds an unpaired UTF-16 surrogate. UTF-8 turns every one of them into U+FFFD, so two
 * different strings holding one would meet on one server-side key: backends refuse such prefixes and keys. The
 * builtin `isWellFormed` costs a fraction of a regex test, and backends run this on every read's key.
 */
export function hasLoneSurrogate(text: string): boolean {
  return !(text as WellFormed).isWellFormed()
}

export { GET_THEN, type GetThen, settleFailure, settleValue } from './get-then'
export { soon } from './soon'

/** The message of an Error, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A short description of a bad option value for a message: `"text"`, `null`, `undefined`, `Map`, `number NaN`, `a function`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object without prototype'
  return typeof value === 'function' ? 'a function' : `${typeof value} ${String(value)}`
}

/**
 * A URL without what must never reach a message or a `scope`: user, password, query and fragment.
 * `redis://app:secret@10.0.0.5:6380/2?x=1` becomes `redis://10.0.0.5:6380/2`. Text that isn't a URL becomes `'…'`.
 */
export function redactUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return '…'
  }
  const path = parsed.pathname === '/' ? '' : parsed.pathname
  return `${parsed.protocol}//${parsed.host}${path}`
}

// Levenshtein distance, enough for option names (a dozen short strings).
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      )
    }
    previous = current
  }
  return previous[b.length] as number
}

/**
 * The known name `unknown` was most likely meant as, or `undefined`: a case or spelling slip (`maxentries`,
 * `prefx`), or a known name that contains it (`max` → `maxEntries`, `timeout` → `operationTimeoutMs`).
 */
export function closestName(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase()
  let best: string | undefined
  let bestScore = Number.POSITIVE_INFINITY
  for (const name of known) {
    const candidate = name.toLowerCase()
    let score = distance(lower, candidate)
    if (score > Math.max(1, Math.floor(candidate.length / 3))) {
      const part = lower.length >= 3 && candidate.includes(lower)
      score = part ? candidate.length - lower.length : Number.POSITIVE_INFINITY
      // Partial matches rank after every spelling slip.
      score += 100
    }
    if (score < bestScore) {
      bestScore = score
      best = name
    }
  }
  return bestScore === Number.POSITIVE_INFINITY ? undefined : best
}

/**
 * Checks a factory's options argument: a plain object (not a string, array or `null`) whose keys are all in
 * `known`, so a typo never silently does nothing. Throws a ConfigError naming the unknown key (`option`), the valid
 * ones and the closest match. `usage` shows a correct call, e.g. `"redisStorage({ url: 'redis://127.0.0.1:6379' })"`.
 */
export function rejectUnknownOptions(
  owner: string,
  options: unknown,
  known: readonly string[],
  usage: string,
): asserts options is Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    // A string may be a URL with a password: never echo it whole.
    const got =
      typeof options === 'string'
        ? known.includes('url')
          ? `a string; to connect to a URL, pass { url }: ${owner}({ url: '${redactUrl(options)}' })`
          : 'a string'
        : describeValue(options)
    throw new ConfigError('options', `${owner} takes an options object, got ${got}; e.g. ${usage}`)
  }
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue
    const guess = closestName(name, known)
    throw new ConfigError(
      name,
      `${owner}: unknown option '${name}'${guess === undefined ? '' : ` (did you mean '${guess}'?)`}; valid options are ${known.join(', ')}`,
    )
  }
}

/** Validates `operationTimeoutMs` (a positive, finite number of ms) and returns it, or the default (1000 ms). */
export function resolveOperationTimeout(owner: string, value: unknown): number {
  if (value === undefined) return DEFAULT_OPERATION_TIMEOUT_MS
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value
  throw new ConfigError(
    'operationTimeoutMs',
    `${owner}: operationTimeoutMs must be a positive, finite number of milliseconds, got ${describeValue(value)}; omit it for ${DEFAULT_OPERATION_TIMEOUT_MS}`,
  )
}

/**
 * Validates a write's `ttl` (`SetOptions.ttl`): `undefined` or a positive, finite number of ms. Core only
 * passes such values; this guards direct calls of a storage.
 */
export function resolveEntryTtl(storage: string, ttl: unknown): number | undefined {
  if (ttl === undefined) return undefined
  if (typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0) return ttl
  throw new ConfigError(
    'ttl',
    `${storage} storage: ttl must be a positive, finite number of milliseconds or undefined, got ${describeValue(ttl)}`,
  )
}

/**
 * The `prefix` option of a backend: a string without lone surrogates, or, when absent, {@link defaultPrefix}.
 * Backends with stricter key rules check the result further.
 */
export function resolvePrefix(owner: string, prefix: unknown): string {
  if (prefix === undefined) return defaultPrefix(owner)
  if (typeof prefix !== 'string' || hasLoneSurrogate(prefix)) {
    throw new ConfigError(
      'prefix',
      `${owner}: prefix must be a string without lone UTF-16 surrogates, got ${describeValue(prefix)}`,
    )
  }
  return prefix
}

/**
 * Wraps a driver failure into a StorageError that names the storage, the operation and the server (`where`:
 * `host:port`, a cluster or Sentinel name, a directory; never credentials), keeping the driver's error as `cause`.
 * A StorageError passes through unchanged.
 */
export function storageFailure(
  storage: string,
  op: StorageOp,
  where: string,
  error: unknown,
  hint?: string,
): StorageError {
  if (error instanceof StorageError) return error
  const tail = hint === undefined ? '' : ` (${hint})`
  return new StorageError(
    `${storage} ${op} on ${where} failed: ${messageOf(error)}${tail}`,
    { storage, op },
    {
      cause: error,
    },
  )
}

const objectNumbers = new WeakMap<object, number>()
let lastObjectNumber = 0

/**
 * A label for a client that doesn't tell where it connects, for a storage's `scope`: `<kind>#<n>`, the same for
 * the same object within this process and different for every other object, e.g. `redis-client#3`.
 */
export function objectLabel(kind: string, object: object): string {
  let n = objectNumbers.get(object)
  if (n === undefined) {
    n = ++lastObjectNumber
    objectNumbers.set(object, n)
  }
  return `${kind}#${n}`
}
