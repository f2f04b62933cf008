import type { ErrorReport } from './cache-value-options'
import { CodecError, ComputeError, type MemokitError, StorageError, type StorageOp, TimeoutError } from './errors'
import type { AnyStorage } from './storage'

const WARNING_INTERVAL_MS = 10_000
const lastWarning = new WeakMap<AnyStorage, number>()

/** Wraps anything a storage threw as a StorageError (a CodecError stays as it is). */
export function toStorageError(storage: AnyStorage, op: StorageOp, error: unknown): StorageError | CodecError {
  if (error instanceof StorageError || error instanceof CodecError) return error
  const reason = error instanceof Error ? error.message : String(error)
  return new StorageError(
    `${storage.name} storage: ${op} failed: ${reason}`,
    { storage: storage.name, op },
    { cause: error },
  )
}

/** Reports a failure; for `'compute'`, `error` is what `fn` threw (wrapped in a ComputeError) or a TimeoutError. */
export type Reporter = (op: StorageOp | 'compute', namespace: string, key: string | undefined, error: unknown) => void

/**
 * Builds the function that tells the user about a failure. Without a hook, a process warning is emitted at most
 * once per storage every 10 s, so an outage is visible but doesn't flood the logs.
 */
export function createReporter(
  storage: AnyStorage,
  onError: ((report: ErrorReport) => void) | undefined,
  functionName?: string,
): Reporter {
  return (op, namespace, key, thrown) => {
    const error = (
      op !== 'compute' || thrown instanceof TimeoutError ? thrown : new ComputeError(functionName ?? '?', thrown)
    ) as ErrorReport['error']
    if (onError) {
      try {
        onError({ op, storage: storage.name, namespace, key, functionName, error })
      } catch {
        // A failing hook must never turn a cache problem into a failed call.
      }
      return
    }
    const now = Date.now()
    const last = lastWarning.get(storage)
    if (last !== undefined && now - last < WARNING_INTERVAL_MS) return
    lastWarning.set(storage, now)
    const where =
      functionName === undefined ? `namespace '${namespace}'` : `${functionName} in namespace '${namespace}'`
    const advice =
      error instanceof CodecError && op === 'set'
        ? `: the result was returned but not cached; teach the storage's codec this type (codec.registerClass or codec.register), then pass that codec to the storage, e.g. redisStorage({ url, codec })`
        : op === 'compute'
          ? ': a stale value was served instead (staleIfError, swr or refreshAhead)'
          : ''
    process.emitWarning(
      `memokit (${where}): ${error.message}${advice} (further failures of this storage are muted for 10 s; pass onError to see each)`,
      {
        type: 'MemokitWarning',
        code: (error as MemokitError).code,
      },
    )
  }
}
