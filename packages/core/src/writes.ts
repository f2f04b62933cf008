import type { AnyStorage } from './storage'
import { createWriteTracker, type WriteTracker } from './write-order'

/**
 * Writes core issued to async storages and that have not settled yet, per place (`storage.scope`, else the storage
 * object). A delete or clear waits for the ones it covers before it runs: otherwise a write issued before the
 * invalidation could land after it and bring back the value it removed. Backends whose own operations can
 * overtake each other order themselves too (write-order.ts); this covers every storage, a user's own included.
 */
const byScope = new Map<string, WriteTracker>()
const byObject = new WeakMap<AnyStorage, WriteTracker>()

const trackerOf = (storage: AnyStorage): WriteTracker => {
  const scope = storage.scope
  let tracker = typeof scope === 'string' ? byScope.get(scope) : byObject.get(storage)
  if (tracker === undefined) {
    tracker = createWriteTracker()
    if (typeof scope === 'string') byScope.set(scope, tracker)
    else byObject.set(storage, tracker)
  }
  return tracker
}

/** Records a write until it settles; returns it, so the caller awaits the same promise. */
export function trackWrite<T>(storage: AnyStorage, namespace: string, key: string, write: Promise<T>): Promise<T> {
  return trackerOf(storage).track(namespace, key, write)
}

/**
 * Settles when every write issued so far to `namespace` (only `key`, or only keys starting with `keyPrefix`) has
 * settled, successfully or not; `undefined` when there are none.
 */
export function issuedWrites(
  storage: AnyStorage,
  namespace: string,
  match?: { readonly key?: string; readonly keyPrefix?: string },
): Promise<void> | undefined {
  const tracker = trackerOf(storage)
  return match?.key !== undefined
    ? tracker.settledKey(namespace, match.key)
    : tracker.settledNamespace(namespace, match?.keyPrefix)
}
