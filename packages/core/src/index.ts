export type { CircuitBreakerOptions } from './breaker'
export type { Bus, BusHandlers, BusState } from './bus'
export type { BusInvalidation, BusMessage } from './bus-protocol'
export type { CacheClearOptions } from './cache-clear'
export { cacheClear } from './cache-clear'
export type { CacheReferenceOptions, ReferenceFunction } from './cache-reference'
export { cacheReference } from './cache-reference'
export type { CachedFunction, CachedReturn, IsAsyncStorage } from './cache-value'
export { cacheValue } from './cache-value'
export type { CacheValueOptions, ErrorReport, KeyOptions } from './cache-value-options'
export type { CachedClearDecorator, CachedDecorator, CachedOptions, CachedResult } from './cached'
export { cached, cachedClear } from './cached'
export type { Codec, CodecTransformer } from './codec'
export { createCodec, resolveCodec } from './codec'
export type { ComputeContext } from './context'
export { computeContext } from './context'
export type { Memokit, MemokitDefaults } from './defaults'
export { createMemokit, resetDefaultStorage } from './defaults'
export type { Duration, DurationUnit } from './duration'
export type { MemokitErrorCode, StorageOp } from './errors'
export {
  CodecError,
  ComputeError,
  ConfigError,
  KeyError,
  MemokitError,
  StorageError,
  TimeoutError,
  UsageError,
} from './errors'
export type { FreshnessOptions, PerResultDuration } from './freshness-options'
export { escapeKeyPart } from './key-part'
export type { TypeEncoder } from './keys'
export type { MemoryStorageOptions } from './memory'
export { DEFAULT_MAX_ENTRIES, memoryStorage } from './memory'
export type { MemoryBus } from './memory-bus'
export { memoryBus } from './memory-bus'
export type {
  CallMessage,
  CallOutcome,
  ComputeMessage,
  ComputeReason,
  EventMessage,
  EventType,
  StorageMessage,
  Tier,
} from './observe'
export { CHANNELS } from './observe'
export type { CacheStats } from './observed-call'
export type {
  AnyStorage,
  AsyncStorage,
  Entry,
  EntryMeta,
  MaybePromise,
  SetOptions,
  Storage,
  StorageContract,
} from './storage'
export { invalidateTags } from './tags'
export type { TieredEvent, TieredFlushReason, TieredStorage, TieredStorageOptions } from './tiered'
export { tieredStorage } from './tiered'
