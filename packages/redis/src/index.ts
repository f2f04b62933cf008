export type { RedisCommandClient, RedisCompatibleClient, RedisScanClient } from './client'
export type { RedisStorage, RedisStorageOptions } from './redis-storage'
export { DEFAULT_OPERATION_TIMEOUT_MS, redisStorage } from './redis-storage'
