import type { KeyvLike } from './keyv-like'

interface ListingStore {
  readonly namespace?: unknown
  iterator(namespace?: unknown): AsyncIterable<readonly [unknown, unknown]>
}

const isListingStore = (store: unknown): store is ListingStore =>
  store !== null &&
  typeof store === 'object' &&
  !(store instanceof Map) &&
  typeof (store as ListingStore).iterator === 'function'

/**
 * Lists the keys of the Keyv namespace (call only when `keyv.iterator` exists). Keyv's own iterator reads and
 * deserializes every value, and crashes on a key that vanished between the store's listing and that read (with
 * `@keyv/redis`, a key expired or deleted between its SCAN and its MGET), so the store adapter's iterator is used
 * when it has one, and only its keys are kept: the adapter's namespace is already cut off, Keyv's `<namespace>:`
 * is cut here, as Keyv's iterator does. The in-memory Map is walked here too, not by Keyv's iterator: that one
 * keeps the keys that *contain* `map.namespace`, a field every Keyv over the Map overwrites with its own
 * namespace, so with two Keyv namespaces on one Map it listed the other namespace's keys and none of its own.
 */
export async function* listKeys(keyv: KeyvLike): AsyncGenerator<unknown, void> {
  const store = keyv.store
  const keyvPart = keyv.useKeyPrefix && keyv.namespace ? `${keyv.namespace}:` : ''
  const cut = (key: unknown): string | undefined =>
    typeof key === 'string' && key.startsWith(keyvPart) ? key.slice(keyvPart.length) : undefined
  if (store instanceof Map) {
    for (const key of store.keys()) {
      const own = cut(key)
      if (own !== undefined) yield own
    }
    return
  }
  if (!isListingStore(store)) {
    for await (const [key] of (keyv.iterator as NonNullable<KeyvLike['iterator']>)(keyv.namespace)) yield key
    return
  }
  for await (const [key] of store.iterator(store.namespace)) {
    const own = cut(key)
    if (own !== undefined) yield own
  }
}
