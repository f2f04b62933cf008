import { ConfigError, StorageError } from '@memokit/core'
import type { KeyvLike } from './keyv-like'
import { NAME, type Run } from './run'

/**
 * Keyv writes its namespace into the store object it is given (`store.namespace = ...`), and a store adapter such
 * as `@keyv/redis` puts that field before every key. A second Keyv made over the same store object overwrites it.
 * Where Keyv adds no prefix of its own (`useKeyPrefix: false`, as `createKeyv` of `@keyv/redis` sets), that field
 * is all that keeps two Keyv namespaces apart: after the overwrite both write the same keys, and one reads the
 * other's entries. So such a store must keep this Keyv's namespace: a storage over a store another Keyv has taken
 * is refused when it is made (ConfigError), and each operation after a later takeover fails (StorageError, so core
 * runs the function and reports it) rather than read or write the other namespace's keys.
 * The in-memory Map ignores the field (Keyv prefixes keys itself, or all Keyvs over it share keys by design).
 */
export function guardStoreNamespace(keyv: KeyvLike): (run: Run) => Run {
  const unchanged = (run: Run): Run => run
  const store = keyv.store as { namespace?: unknown } | null
  const expected = keyv.namespace
  const keyvPrefixes = keyv.useKeyPrefix && expected !== undefined && expected !== ''
  if (keyvPrefixes || expected === undefined || expected === '') return unchanged
  if (store === null || typeof store !== 'object' || store instanceof Map || !('namespace' in store)) return unchanged
  const taken = (): string =>
    `the Keyv store object's namespace is ${JSON.stringify(store.namespace)}, not this Keyv's ${JSON.stringify(expected)}: another Keyv was made over the same store object, and with useKeyPrefix off both would use the same keys; give each Keyv a store object of its own`
  if (store.namespace !== expected) throw new ConfigError('keyv', `keyvStorage: ${taken()}`)
  return (run) => (op, body, order) =>
    store.namespace === expected
      ? run(op, body, order)
      : Promise.reject(new StorageError(`keyv ${op} refused: ${taken()}`, { storage: NAME, op }))
}
