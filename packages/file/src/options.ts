/**
 * The options of `fileStorage` and `fileStorageSync`, and their checks: both factories validate them the same way,
 * before anything touches the disk, and resolve the paths. Apart from index.ts, which builds the two storages.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type Codec, ConfigError, resolveCodec } from '@memokit/core'
import { defaultPrefix, describeValue, rejectUnknownOptions } from '@memokit/core/backend'
import type { Ctx } from './engine'
import { encodeDirName } from './layout'

/** Options of {@link fileStorage} and {@link fileStorageSync}. */
export interface FileStorageOptions {
  /**
   * The cache directory; created (with parents) on the first write. Resolved to an absolute path once, when the
   * storage is created. Several processes may share it.
   * @example '/var/cache/my-service'
   */
  readonly dir: string
  /**
   * Separates caches sharing `dir`: entries live under `${dir}/<encoded prefix>/`. Default: `'memokit/<name>'`,
   * `<name>` being your application's package.json `name` (see README, "Default prefix"), so two applications
   * given one `dir` never share entries; replicas of one application do.
   * @example 'billing-v2'
   */
  readonly prefix?: string
  /** Turns entries into file contents. Default: `createCodec()` from `@memokit/core`. */
  readonly codec?: Codec
  /**
   * Age in ms after which `prune()` treats a temp file as a crashed write's leftover and removes it.
   * Default: 60,000 (a minute; a write takes milliseconds).
   */
  readonly tempFileMaxAgeMs?: number
}

const OPTIONS = ['dir', 'prefix', 'codec', 'tempFileMaxAgeMs'] as const

interface Prepared {
  readonly dir: string
  readonly prefixDir: string
  readonly scope: string
  readonly ctx: Ctx
}

/** Validates the options (before anything touches the disk) and resolves the paths. */
export function prepare(options: FileStorageOptions, entry: string): Prepared {
  rejectUnknownOptions(entry, options, OPTIONS, `${entry}({ dir: '.cache/memokit' })`)
  const { dir, prefix: givenPrefix, tempFileMaxAgeMs = 60_000 } = options
  if (typeof dir !== 'string' || dir === '') {
    throw new ConfigError('dir', `${entry}(): dir must be a non-empty path string, got ${describeValue(dir)}`)
  }
  if (givenPrefix !== undefined && typeof givenPrefix !== 'string') {
    throw new ConfigError('prefix', `${entry}(): prefix must be a string, got ${describeValue(givenPrefix)}`)
  }
  const codec = resolveCodec(options.codec, `${entry}()`)
  if (!(typeof tempFileMaxAgeMs === 'number' && Number.isFinite(tempFileMaxAgeMs) && tempFileMaxAgeMs > 0)) {
    throw new ConfigError(
      'tempFileMaxAgeMs',
      `${entry}(): tempFileMaxAgeMs must be a positive number of ms, got ${describeValue(tempFileMaxAgeMs)}`,
    )
  }
  // Any string is a valid prefix here (directory names encode UTF-16 code units, lone surrogates included).
  const prefix = givenPrefix ?? defaultPrefix(entry)
  const absolute = resolve(dir)
  return {
    dir: absolute,
    prefixDir: resolve(absolute, encodeDirName(prefix)),
    scope: `${pathToFileURL(absolute).href}?prefix=${encodeURIComponent(prefix)}`,
    ctx: { prefix, codec, tempFileMaxAgeMs },
  }
}
