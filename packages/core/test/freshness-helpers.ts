// The setup the freshness tests repeat: a controllable fn cached in a namespace of its own, and an entry stored by
// its first run that the clock then leaves behind.
import { type AnyStorage, type CacheValueOptions, cacheValue } from '@memokit/core'
import { type Controllable, controllable, tickTo } from './controllable'
import { uniqueNamespace } from './helpers'

/** A controllable fn (`c`), cached over `storage` with `options` in a fresh namespace. */
export function cachedControllable<S extends AnyStorage>(
  storage: S,
  options: Omit<CacheValueOptions<unknown[], Promise<string>, S>, 'storage' | 'namespace'>,
) {
  const namespace = uniqueNamespace()
  const c = controllable()
  const cached = cacheValue(c.fn, { storage, namespace, ...options })
  return { namespace, c, cached }
}

/**
 * Lets the oldest open run (the one the call `first` started) answer 'v1', waits for `first`, then moves the clock
 * to T0 + `at` (2000 by default: past a 1 s ttl, so the entry is stale).
 */
export async function storeV1ThenMoveTo(c: Controllable<string>, first: Promise<unknown>, at = 2000): Promise<void> {
  c.resolve('v1')
  await first
  await tickTo(at)
}
