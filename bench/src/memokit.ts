// memokit is loaded by feature detection, so the bench keeps running (and says what it skipped) while
// `cacheValue` or `@memokit/redis` are still being written.

type AnyFn = (...args: never[]) => unknown
// biome-ignore lint/suspicious/noExplicitAny: the bench calls whatever signature the wrapped function has.
type Cached = (...args: any[]) => any

export interface Memokit {
  readonly cacheValue: ((fn: AnyFn, options: Record<string, unknown>) => Cached) | undefined
  readonly memoryStorage: (options?: { maxEntries?: number }) => unknown
  readonly reason: string | undefined
}

export interface MemokitRedis {
  readonly redisStorage: ((options: Record<string, unknown>) => unknown) | undefined
  readonly reason: string | undefined
}

let core: Promise<Memokit> | undefined
let redis: Promise<MemokitRedis> | undefined

export function loadMemokit(): Promise<Memokit> {
  core ??= import('@memokit/core').then(
    (m: Record<string, unknown>) => {
      const cacheValue = typeof m.cacheValue === 'function' ? (m.cacheValue as Memokit['cacheValue']) : undefined
      return {
        cacheValue,
        memoryStorage: m.memoryStorage as Memokit['memoryStorage'],
        reason: cacheValue ? undefined : '@memokit/core does not export cacheValue yet',
      }
    },
    (error: unknown) => ({
      cacheValue: undefined,
      memoryStorage: () => undefined,
      reason: `@memokit/core failed to load: ${error instanceof Error ? error.message : String(error)}`,
    }),
  )
  return core
}

export function loadMemokitRedis(): Promise<MemokitRedis> {
  redis ??= import('@memokit/redis').then(
    (m: Record<string, unknown>) => {
      const redisStorage =
        typeof m.redisStorage === 'function' ? (m.redisStorage as MemokitRedis['redisStorage']) : undefined
      return { redisStorage, reason: redisStorage ? undefined : '@memokit/redis does not export redisStorage yet' }
    },
    (error: unknown) => ({
      redisStorage: undefined,
      reason: `@memokit/redis failed to load: ${error instanceof Error ? error.message : String(error)}`,
    }),
  )
  return redis
}
