export type { MemcacheClientLike, MemcacheClientStoreOptions, MemjsClientLike } from './adapters'
export { fromMemcacheClient, fromMemjs } from './adapters'
export type { MemcachedClient, MemcachedStorageOptions } from './memcached-storage'
export { DEFAULT_OPERATION_TIMEOUT_MS, memcachedStorage } from './memcached-storage'
