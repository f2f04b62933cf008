/**
 * `@memokit/keyv`: any Keyv 5 instance (the cache-manager ecosystem) as a memokit storage.
 */

export type { KeyvLike } from './keyv-like'
export { type KeyvStorage, keyvStorage } from './keyv-storage'
export type { ClearBy, KeyvStorageOptions } from './options'
