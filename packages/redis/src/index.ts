export { DEFAULT_OPERATION_TIMEOUT_MS } from '@memokit/core/backend'
export type { RedisBus, RedisBusOptions } from './bus'
export { redisBus } from './bus'
export type {
  EvalOptions,
  IoredisCompatibleClient,
  RedisCommandClient,
  RedisCompatibleClient,
  RedisKey,
  RedisScanClient,
} from './client'
export type { RedisStorage, RedisStorageOptions } from './redis-storage'
export { redisStorage } from './redis-storage'
