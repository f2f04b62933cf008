// memokit is loaded by feature detection, so the bench keeps running (and says what it skipped) while
// `cacheValue` or `@memokit/redis` are still being written.
import { execFileSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Versus } from './harness'

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

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

function coreFrom(what: string, load: Promise<Record<string, unknown>>): Promise<Memokit> {
  return load.then(
    (m) => {
      const cacheValue = typeof m.cacheValue === 'function' ? (m.cacheValue as Memokit['cacheValue']) : undefined
      return {
        cacheValue,
        memoryStorage: m.memoryStorage as Memokit['memoryStorage'],
        reason: cacheValue ? undefined : `${what} does not export cacheValue yet`,
      }
    },
    (error: unknown) => ({
      cacheValue: undefined,
      memoryStorage: () => undefined,
      reason: `${what} failed to load: ${message(error)}`,
    }),
  )
}

function redisFrom(what: string, load: Promise<Record<string, unknown>>): Promise<MemokitRedis> {
  return load.then(
    (m) => {
      const redisStorage =
        typeof m.redisStorage === 'function' ? (m.redisStorage as MemokitRedis['redisStorage']) : undefined
      return { redisStorage, reason: redisStorage ? undefined : `${what} does not export redisStorage yet` }
    },
    (error: unknown) => ({ redisStorage: undefined, reason: `${what} failed to load: ${message(error)}` }),
  )
}

/** The current sources (through tsx and the bench's tsconfig paths). */
export function loadMemokit(): Promise<Memokit> {
  core ??= coreFrom('@memokit/core', import('@memokit/core'))
  return core
}

export function loadMemokitRedis(): Promise<MemokitRedis> {
  redis ??= redisFrom('@memokit/redis', import('@memokit/redis'))
  return redis
}

/** core and redis as of the commit before issue 9's restructure, built by scripts/build-before.mjs. */
export interface MemokitBefore {
  /** Contender name, with the commit: `memokit before (0a78d37)`. */
  readonly name: string
  readonly core: Memokit
  readonly redis: MemokitRedis
}

/** Issue 9: with every new option off, memokit stays within 5% of its build from before the restructure. */
export const BEFORE_MIN_RATIO = 0.95
/** The same for S6's heap bytes per entry, where less is better: at most 5% more. */
export const BEFORE_MAX_BYTES_RATIO = 1.05

/** A memokit to put in a scenario: the current sources, or the before build. */
export interface Variant {
  readonly name: string
  readonly mk: Memokit
  /** True for the current sources (the row that carries the targets and the comparison). */
  readonly current: boolean
  /** Comparisons this row carries besides the current row's (the channels bundle's with the no-channels build). */
  readonly versus?: readonly Versus[]
}

/**
 * The memokit rows of S1-S3 and S6: `memokit` (current) and `memokit before (<commit>)`, each only when it loads
 * (`skipped` says why not). `versus` is the comparison the current row carries, when both loaded.
 */
export async function memokitVariants(options: { readonly noChannels?: boolean } = {}): Promise<{
  readonly variants: readonly Variant[]
  readonly skipped: readonly string[]
  readonly versus: Versus | undefined
  /** `versus`, and with `noChannels` the comparison with the build without channels too. */
  readonly versusAll: readonly Versus[]
}> {
  const [mk, old, bare, bundle] = await Promise.all([
    loadMemokit(),
    loadMemokitBefore(),
    options.noChannels ? loadMemokitNoChannels() : undefined,
    options.noChannels ? loadMemokitNoChannels(true) : undefined,
  ])
  const variants: Variant[] = []
  const skipped: string[] = []
  if (mk.cacheValue) variants.push({ name: 'memokit', mk, current: true })
  else skipped.push(`memokit skipped: ${mk.reason}`)
  if (old.core.cacheValue) variants.push({ name: old.name, mk: old.core, current: false })
  else skipped.push(`${old.name} skipped: ${old.core.reason}`)
  const versus =
    mk.cacheValue && old.core.cacheValue
      ? { name: old.name, label: 'current/before', min: BEFORE_MIN_RATIO }
      : undefined
  const versusAll = versus ? [versus] : []
  // Judged bundle against bundle: the current row runs the sources through tsx (a module per file), which alone
  // measured a few percent off the same sources bundled (an A/A run), so it would charge the checks for tsx.
  if (bare?.cacheValue && bundle?.cacheValue) {
    const judged = { name: NO_CHANNELS, label: 'bundle/no-channels', min: NO_CHANNELS_MIN_RATIO }
    variants.push({ name: CHANNELS_BUNDLE, mk: bundle, current: false, versus: [judged] })
    variants.push({ name: NO_CHANNELS, mk: bare, current: false })
  } else if (bare && bundle) skipped.push(`${NO_CHANNELS} skipped: ${bare.reason ?? bundle.reason}`)
  return { variants, skipped, versus, versusAll }
}

/** Issue 12: with nobody subscribed, S1-S3 stay within 3% of the same core built without its channel checks. */
export const NO_CHANNELS_MIN_RATIO = 0.97
const NO_CHANNELS = 'memokit without channels'
const CHANNELS_BUNDLE = 'memokit, bundled'
const NO_CHANNELS_SCRIPT = fileURLToPath(new URL('../scripts/build-no-channels.mjs', import.meta.url))
const noChannels = new Map<boolean, Promise<Memokit>>()

/**
 * The current core sources with every `hasSubscribers` check replaced by `false` (scripts/build-no-channels.mjs),
 * or with `withChannels` the same build with the checks kept; built when the sources changed (about 1.5 s). Never
 * throws: a failed build becomes the `reason`.
 */
export function loadMemokitNoChannels(withChannels = false): Promise<Memokit> {
  const name = withChannels ? CHANNELS_BUNDLE : NO_CHANNELS
  const cached = noChannels.get(withChannels)
  if (cached) return cached
  const loading = (async () => {
    try {
      const flags = withChannels ? ['--json', '--with-channels'] : ['--json']
      const out = execFileSync(process.execPath, [NO_CHANNELS_SCRIPT, ...flags], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const info = JSON.parse(out) as { core: string; built: boolean; seconds: number }
      if (info.built) process.stderr.write(`built ${name} in ${info.seconds.toFixed(1)} s\n`)
      return coreFrom(name, import(pathToFileURL(info.core).href))
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim()
      const reason = `the build of ${name} failed: ${stderr || message(error)}`
      return { cacheValue: undefined, memoryStorage: () => undefined, reason }
    }
  })()
  noChannels.set(withChannels, loading)
  return loading
}

interface BuildInfo {
  readonly commit: string
  readonly core: string
  readonly redis: string
  readonly built: boolean
  readonly seconds: number
}

const BUILD_SCRIPT = fileURLToPath(new URL('../scripts/build-before.mjs', import.meta.url))
let before: Promise<MemokitBefore> | undefined

/**
 * Builds the "before" memokit when it is missing or stale (a child process: about 3 s; 0.3 s to find it current),
 * then loads it. Never throws: a failed build or load becomes the `reason` of both halves.
 */
export function loadMemokitBefore(): Promise<MemokitBefore> {
  before ??= (async () => {
    let info: BuildInfo
    try {
      const out = execFileSync(process.execPath, [BUILD_SCRIPT, '--json'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      info = JSON.parse(out) as BuildInfo
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim()
      const reason = `the before build failed: ${stderr || message(error)}`
      return {
        name: 'memokit before',
        core: { cacheValue: undefined, memoryStorage: () => undefined, reason },
        redis: { redisStorage: undefined, reason },
      }
    }
    const name = `memokit before (${info.commit})`
    if (info.built)
      process.stderr.write(`built ${name} in ${info.seconds.toFixed(1)} s (bench/scripts/build-before.mjs)\n`)
    return {
      name,
      core: await coreFrom(name, import(pathToFileURL(info.core).href)),
      redis: await redisFrom(name, import(pathToFileURL(info.redis).href)),
    }
  })()
  return before
}
