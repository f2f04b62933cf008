import type { StorageError } from './errors'
import type { AnyStorage } from './storage'

/**
 * Background retries of failed namespace clears. A clear after a write that fails (Redis unreachable for a moment)
 * would leave every replica serving the old entries until their TTL; instead it is retried with backoff until it
 * succeeds, at most `RETRY_DELAYS_MS.length` times (about two minutes in all), one retry chain per place and
 * namespace. Each failure is reported by the caller's reporter.
 */
export const RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]

interface Chain {
  timer: ReturnType<typeof setTimeout> | undefined
}

const chains = new Map<string, Chain>()
const objectIds = new WeakMap<AnyStorage, number>()
let nextObjectId = 0

const placeOf = (storage: AnyStorage): string => {
  if (typeof storage.scope === 'string') return `s${storage.scope}`
  let id = objectIds.get(storage)
  if (id === undefined) {
    id = nextObjectId++
    objectIds.set(storage, id)
  }
  return `o${id}`
}
const chainKey = (storage: AnyStorage, namespace: string): string => JSON.stringify([placeOf(storage), namespace])

/** Starts retrying `clear(namespace)` in the background, unless a retry for it is already under way. */
export function retryClear(
  storage: AnyStorage,
  namespace: string,
  clear: () => unknown,
  failed: (error: unknown) => StorageError | undefined,
): void {
  const id = chainKey(storage, namespace)
  if (chains.has(id)) return
  const chain: Chain = { timer: undefined }
  chains.set(id, chain)
  const attempt = (n: number): void => {
    const delay = RETRY_DELAYS_MS[n]
    if (delay === undefined) {
      chains.delete(id)
      return
    }
    chain.timer = setTimeout(async () => {
      if (chains.get(id) !== chain) return
      try {
        await clear()
        chains.delete(id)
      } catch (error) {
        failed(error)
        attempt(n + 1)
      }
    }, delay)
    // A pending retry must not keep a process alive that has nothing else to do.
    chain.timer.unref?.()
  }
  attempt(0)
}

/** A clear of `namespace` succeeded: it covers whatever a pending retry would have cleared. */
export function clearSucceeded(storage: AnyStorage, namespace: string): void {
  if (chains.size === 0) return
  const id = chainKey(storage, namespace)
  const chain = chains.get(id)
  if (chain === undefined) return
  clearTimeout(chain.timer)
  chains.delete(id)
}
