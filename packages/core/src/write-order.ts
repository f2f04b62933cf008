/**
 * Orders a storage's invalidations after the writes already issued on it. A backend whose operations can overtake
 * each other (a connection pool, file renames) tracks each `set`/`add` here; `delete` and `clear` first wait for
 * the writes they could otherwise be overtaken by, so a value written just before an invalidation never lands
 * after it. Part of `@memokit/core/backend`.
 */

/** The writes in flight on one storage object, by namespace and key. */
export interface WriteTracker {
  /** Records `write` (a set or add of `namespace`/`key`) until it settles; returns it unchanged. */
  track<T>(namespace: string, key: string, write: Promise<T>): Promise<T>
  /**
   * Settles once every write of `namespace`/`key` issued so far has settled (never rejects); `undefined` when none
   * is in flight, so the common case costs no extra turn of the event loop.
   */
  settledKey(namespace: string, key: string): Promise<void> | undefined
  /** The same for every write in `namespace`, or only those whose key starts with `keyPrefix`. */
  settledNamespace(namespace: string, keyPrefix?: string): Promise<void> | undefined
}

const ignore = (): void => undefined

function allSettled(writes: Iterable<Promise<void>>): Promise<void> | undefined {
  const list = [...writes]
  return list.length === 0 ? undefined : Promise.all(list).then(ignore)
}

/** A {@link WriteTracker} for one storage object. */
export function createWriteTracker(): WriteTracker {
  // namespace → key → the settled-signals of that key's writes in flight.
  const inFlight = new Map<string, Map<string, Set<Promise<void>>>>()

  return {
    track(namespace, key, write) {
      let keys = inFlight.get(namespace)
      if (keys === undefined) {
        keys = new Map()
        inFlight.set(namespace, keys)
      }
      let writes = keys.get(key)
      if (writes === undefined) {
        writes = new Set()
        keys.set(key, writes)
      }
      const settled = write.then(ignore, ignore)
      writes.add(settled)
      const own = { keys, writes }
      void settled.then(() => {
        own.writes.delete(settled)
        if (own.writes.size > 0) return
        if (own.keys.get(key) === own.writes) own.keys.delete(key)
        if (own.keys.size === 0 && inFlight.get(namespace) === own.keys) inFlight.delete(namespace)
      })
      return write
    },
    settledKey(namespace, key) {
      const writes = inFlight.get(namespace)?.get(key)
      return writes === undefined ? undefined : allSettled(writes)
    },
    settledNamespace(namespace, keyPrefix = '') {
      const keys = inFlight.get(namespace)
      if (keys === undefined) return undefined
      const pending: Promise<void>[] = []
      for (const [key, writes] of keys) if (key.startsWith(keyPrefix)) pending.push(...writes)
      return allSettled(pending)
    },
  }
}
