import { objectLabel, redactUrl } from '@memokit/core/backend'
import type { KeyvLike } from './keyv-like'

/** Where a Keyv instance keeps its keys, as far as can be told, for messages and the storage's `scope`. */
export interface Place {
  /** The store, for messages: `redis://127.0.0.1:6379/0`, or `keyv-map#2` for a store that doesn't say where. */
  readonly where: string
  /** What Keyv and its store put before each of memokit's keys, e.g. `keyv::keyv:` (`@keyv/redis`, default namespace). */
  readonly keyPrefix: string
}

type Bag = Record<string, unknown>
const bag = (value: unknown): Bag | undefined =>
  value !== null && (typeof value === 'object' || typeof value === 'function') ? (value as Bag) : undefined

/**
 * The server of a `@keyv/redis` store: its node-redis client's `url` (credentials dropped, database made
 * explicit). `undefined` for another store, or a client configured without a URL (socket options, a cluster):
 * those are told apart by object instead.
 */
function redisServer(store: Bag): string | undefined {
  if (bag(store.opts)?.dialect !== 'redis') return undefined
  const options = bag(bag(store.client)?.options)
  const url = options?.url
  if (typeof url !== 'string') return undefined
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  const database = typeof options?.database === 'number' ? options.database : Number(parsed.pathname.slice(1) || 0)
  return `${redactUrl(`${parsed.protocol}//${parsed.host}`)}/${database}`
}

/**
 * The place of `keyv`: the store by its server when it is a `@keyv/redis` store with a URL, otherwise by object
 * identity (the Map of the in-memory store, or the adapter object), plus the namespaces Keyv and the store put
 * before each key. Read once: changing the Keyv's namespace or store later is not supported.
 */
export function placeOf(keyv: KeyvLike): Place {
  const store = bag(keyv.store)
  const server = store === undefined ? undefined : redisServer(store)
  const where =
    server ??
    (store === undefined
      ? objectLabel('keyv', keyv)
      : objectLabel(keyv.store instanceof Map ? 'keyv-map' : 'keyv-store', store))
  const keyvPart = keyv.useKeyPrefix && keyv.namespace ? `${keyv.namespace}:` : ''
  // @keyv/redis puts its own namespace (Keyv's, unless createKeyv set it) and separator before Keyv's key.
  const storeNamespace = server === undefined ? undefined : store?.namespace
  const separator = store?.keyPrefixSeparator
  const storePart =
    typeof storeNamespace === 'string' && storeNamespace !== '' && typeof separator === 'string'
      ? `${storeNamespace}${separator}`
      : ''
  return { where, keyPrefix: `${storePart}${keyvPart}` }
}
