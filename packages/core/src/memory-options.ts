/**
 * The options of the memory storage, checked once when it is made, and the size check of a write when `maxSize`
 * is on.
 */
import { ConfigError } from './errors'
import { rejectUnknownOptions } from './options'

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Most entries kept across all namespaces; the least recently used is evicted past it.
   * A positive integer, or `Infinity` to opt out of the bound knowingly. Default: 10,000.
   */
  readonly maxEntries?: number
  /**
   * Most total size kept across all namespaces, in the unit `sizeCalculation` returns (bytes, usually): the least
   * recently used entries are evicted until a new entry fits. A positive safe integer; needs `sizeCalculation`.
   * Applies besides `maxEntries` (pass `maxEntries: Infinity` to bound by size alone). Default: off (no size bound,
   * and nothing is measured).
   *
   * An entry larger than `maxSize` on its own is not stored, and the entry it would replace is deleted, so the call
   * returns its result uncached (lru-cache does the same).
   */
  readonly maxSize?: number
  /**
   * The size of one entry, given its value (what the cached function returned, awaited), in the unit of `maxSize`.
   * Called once per write, never on a hit. Must return a positive safe integer; anything else fails that write with
   * a `ConfigError` naming `sizeCalculation` (cacheValue reports it to `onError` and returns the result
   * uncached). Only with `maxSize`. Example: `(value) => JSON.stringify(value).length * 2` (UTF-16 bytes, roughly).
   */
  readonly sizeCalculation?: (value: unknown) => number
}

/** The default bound of {@link memoryStorage}: 10,000 entries. */
export const DEFAULT_MAX_ENTRIES = 10_000

export interface MemoryBounds {
  readonly maxEntries: number
  /** Infinity when the size bound is off. */
  readonly maxSize: number
  readonly sizeOf: ((value: unknown) => number) | undefined
}

const EXAMPLE = 'memoryStorage({ maxSize: 50_000_000, sizeCalculation: (v) => JSON.stringify(v).length * 2 })'

/** Checks the options of `memoryStorage` (before anything is allocated) and applies the defaults. */
export function resolveMemoryOptions(options: MemoryStorageOptions): MemoryBounds {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError(
      'options',
      'memoryStorage: options must be an object, e.g. memoryStorage({ maxEntries: 500 })',
    )
  }
  rejectUnknownOptions('memoryStorage', options, ['maxEntries', 'maxSize', 'sizeCalculation'])
  const { maxEntries = DEFAULT_MAX_ENTRIES, maxSize, sizeCalculation } = options
  if (!(maxEntries === Number.POSITIVE_INFINITY || (Number.isInteger(maxEntries) && maxEntries > 0))) {
    throw new ConfigError(
      'maxEntries',
      `maxEntries must be a positive integer (or Infinity for no bound), got ${String(maxEntries)}`,
    )
  }
  if (maxSize === undefined) {
    if (sizeCalculation !== undefined) {
      throw new ConfigError(
        'maxSize',
        `memoryStorage: sizeCalculation is used only with maxSize, the bound it counts towards; e.g. ${EXAMPLE}`,
      )
    }
    return { maxEntries, maxSize: Number.POSITIVE_INFINITY, sizeOf: undefined }
  }
  if (!Number.isSafeInteger(maxSize) || maxSize <= 0) {
    throw new ConfigError(
      'maxSize',
      `memoryStorage: maxSize must be a positive safe integer in the unit sizeCalculation returns (bytes, usually), got ${String(maxSize)}; leave it out for no size bound`,
    )
  }
  if (typeof sizeCalculation !== 'function') {
    throw new ConfigError(
      'sizeCalculation',
      `memoryStorage: maxSize needs sizeCalculation, a function returning the size of a value as a positive integer; e.g. ${EXAMPLE}`,
    )
  }
  return { maxEntries, maxSize, sizeOf: sizeCalculation }
}

/** The size of `value`, checked before the write changes anything. */
export function sizeOfValue(sizeOf: (value: unknown) => number, value: unknown): number {
  const size = sizeOf(value)
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new ConfigError(
      'sizeCalculation',
      `memoryStorage: sizeCalculation must return a positive safe integer, got ${typeof size === 'number' ? String(size) : typeof size}; round up (Math.ceil) and count an empty value as 1`,
    )
  }
  return size
}
