import { type Codec, ConfigError, escapeKeyPart, resolveCodec } from '@memokit/core'
import { describeValue, rejectUnknownOptions, resolveOperationTimeout, resolvePrefix } from '@memokit/core/backend'
import type { KeyvLike } from './keyv-like'

/** How `clear` finds a namespace's entries: see {@link KeyvStorageOptions.clearBy}. */
export type ClearBy = 'iterator' | 'generation'

/** Options of {@link keyvStorage}. */
export interface KeyvStorageOptions {
  /**
   * First part of every key memokit hands to Keyv: storages with the same prefix on one Keyv store share entries,
   * others never do. Any string without lone UTF-16 surrogates. Default: `memokit/<name>`, where `<name>` is the
   * `name` in your application's package.json (see the README, "Default prefix"); `storage.scope` shows the one in
   * use.
   * @example 'billing-api'
   */
  readonly prefix?: string
  /** Encodes entries into the strings handed to Keyv. Default: `createCodec()` from `@memokit/core`. */
  readonly codec?: Codec
  /**
   * Longest time one storage operation (all its Keyv calls) may take before it fails with a StorageError, in ms.
   * A clear by iterator gives each of its calls this long instead. Default: 1000.
   */
  readonly operationTimeoutMs?: number
  /**
   * How `clear` finds a namespace's entries. `'iterator'`: lists the Keyv namespace with `keyv.iterator()` and
   * deletes the matching keys (exact, costs one listing of the whole Keyv namespace per clear). `'generation'`:
   * every entry key holds a random namespace version, read on every operation; a clear writes a new one (any
   * store; a clear with a key prefix marks that prefix as cleared, and clears the whole namespace only once the
   * marks pass 2 KB or after 3 tries lost to concurrent prefix clears). Default: `'iterator'` when the Keyv has an
   * iterator and a key layout it can list (see the README), `'generation'` otherwise.
   */
  readonly clearBy?: ClearBy
}

/** The options after validation, defaults applied. */
export interface ResolvedOptions {
  /** The prefix with `%` and `:` escaped, as it starts every key. */
  readonly escapedPrefix: string
  readonly codec: Codec
  readonly operationTimeoutMs: number
  readonly clearBy: ClearBy
}

const OWNER = 'keyvStorage'
const KNOWN = ['prefix', 'codec', 'operationTimeoutMs', 'clearBy']

/**
 * Why Keyv's iterator can't list this Keyv's keys as memokit wrote them, or `undefined` when it can. The iterator
 * yields keys with Keyv's namespace cut off at the first `:`, which gives back the key memokit wrote only when
 * Keyv adds no namespace, or one without `:`.
 */
function iteratorProblem(keyv: KeyvLike): string | undefined {
  if (keyv.iterator === undefined) {
    return "this Keyv has no iterator: Keyv lists keys only of its in-memory Map and the 'sqlite', 'postgres', 'mysql', 'mongo', 'redis', 'valkey' and 'etcd' adapters"
  }
  if (!keyv.useKeyPrefix) return undefined
  const { namespace } = keyv
  if (namespace === undefined || namespace === '') {
    return 'this Keyv has useKeyPrefix on and no namespace: its iterator would cut the first part off every key; give the Keyv a namespace or useKeyPrefix: false'
  }
  if (namespace.includes(':')) {
    return `the Keyv namespace ${JSON.stringify(namespace)} holds ':': Keyv's iterator would cut keys at the wrong ':'`
  }
  return undefined
}

function resolveClearBy(keyv: KeyvLike, clearBy: unknown): ClearBy {
  if (clearBy !== undefined && clearBy !== 'iterator' && clearBy !== 'generation') {
    throw new ConfigError(
      'clearBy',
      `${OWNER}: clearBy must be 'iterator' or 'generation', got ${describeValue(clearBy)}; omit it to use the iterator when this Keyv can list its keys`,
    )
  }
  const problem = iteratorProblem(keyv)
  if (clearBy === 'iterator' && problem !== undefined) {
    throw new ConfigError('clearBy', `${OWNER}: clearBy 'iterator' is not possible: ${problem}; or use 'generation'`)
  }
  return clearBy ?? (problem === undefined ? 'iterator' : 'generation')
}

/** Checks every option before anything is sent; throws a ConfigError naming the first wrong one. */
export function resolveOptions(keyv: KeyvLike, options: unknown): ResolvedOptions {
  const given = options === undefined ? {} : options
  rejectUnknownOptions(OWNER, given, KNOWN, "keyvStorage(keyv, { prefix: 'billing-api' })")
  const codec = resolveCodec(given.codec, OWNER)
  const operationTimeoutMs = resolveOperationTimeout(OWNER, given.operationTimeoutMs)
  const clearBy = resolveClearBy(keyv, given.clearBy)
  // Last: the default prefix reads package.json files, which only matters once everything else is right.
  const escapedPrefix = escapeKeyPart(resolvePrefix(OWNER, given.prefix))
  const { namespace } = keyv
  // Keyv leaves a key that already starts with `<namespace>:` as it is: one of memokit's keys doing so would meet
  // the key one level down (see the README, "Keys"). Only a prefix equal to the namespace's first part does.
  if (keyv.useKeyPrefix && namespace && `${namespace}:`.startsWith(`${escapedPrefix}:`)) {
    throw new ConfigError(
      'prefix',
      `${OWNER}: the prefix ${JSON.stringify(escapedPrefix)} equals the Keyv namespace ${JSON.stringify(namespace)} (or its first part), and Keyv would then not prefix memokit's keys; choose another prefix`,
    )
  }
  return { escapedPrefix, codec, operationTimeoutMs, clearBy }
}
