export { DEFAULT_OPERATION_TIMEOUT_MS } from '@memokit/core/backend'
export type { IoredisCompatibleClient, RedisCommandClient, RedisCompatibleClient, RedisScanClient } from './client'
export type { RedisStorage, RedisStorageOptions } from './redis-storage'
export { redisStorage } from './redis-storage'
