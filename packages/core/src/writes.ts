import type { AnyStorage } from './storage'

/**
 * Writes issued to async storages and not yet settled, by place and namespace. A delete or clear waits for the
 * ones it covers before it runs: otherwise a write issued before the invalidation can land after it (a slow file
 * rename, another connection of a pool) and bring back the value the invalidation removed.
 */
type Issued = Map<string, Map<Promise<unknown>, string>>

const byScope = new Map<string, Issued>()
const byObject = new WeakMap<AnyStorage, Issued>()

const issuedOf = (storage: AnyStorage): Issued => {
  const scope = storage.scope
  let issued = typeof scope === 'string' ? byScope.get(scope) : byObject.get(storage)
  if (issued === undefined) {
    issued = new Map()
    if (typeof scope === 'string') byScope.set(scope, issued)
    else byObject.set(storage, issued)
  }
  return issued
}

/** Records a write until it settles; returns it, so the caller awaits the same promise. */
export function trackWrite<T>(storage: AnyStorage, namespace: string, key: string, write: Promise<T>): Promise<T> {
  const issued = issuedOf(storage)
  let writes = issued.get(namespace)
  if (writes === undefined) {
    writes = new Map()
    issued.set(namespace, writes)
  }
  const inNamespace = writes
  inNamespace.set(write, key)
  const forget = (): void => {
    inNamespace.delete(write)
    if (inNamespace.size === 0 && issued.get(namespace) === inNamespace) issued.delete(namespace)
  }
  write.then(forget, forget)
  return write
}

/**
 * Settles when every write issued so far to `namespace` (those whose key starts with `keyPrefix`, or equals `key`)
 * has settled, successfully or not; `undefined` when there are none, so a sync caller pays nothing.
 */
export function issuedWrites(
  storage: AnyStorage,
  namespace: string,
  match?: { readonly key?: string; readonly keyPrefix?: string },
): Promise<unknown> | undefined {
  const writes = issuedOf(storage).get(namespace)
  if (writes === undefined) return undefined
  const waiting: Promise<unknown>[] = []
  for (const [write, key] of writes) {
    if (match?.key !== undefined && key !== match.key) continue
    if (match?.keyPrefix !== undefined && !key.startsWith(match.keyPrefix)) continue
    waiting.push(write)
  }
  return waiting.length === 0 ? undefined : Promise.allSettled(waiting)
}
