/**
 * Every `cacheValue` option checked and defaulted in one place, once, into a frozen Plan: the call paths read
 * only the Plan, and an option that is off leaves nothing on the hit path. The freshness options are checked in
 * plan-freshness.ts.
 */
import { closestName } from './backend'
import { type Breaker, resolveBreaker, storageBreaker } from './breaker'
import type { ErrorReport } from './cache-value-options'
import { parseDuration } from './duration'
import { ConfigError } from './errors'
import type { FreshnessPolicy } from './freshness'
import { claimIdentity, type Identity, resolveName } from './identity'
import { escapeKeyPart } from './key-part'
import { createKeyEncoder } from './keys'
import { type LeasePlan, resolveLease } from './lease-options'
import { memoryInternals } from './memory'
import { type EventMessage, type ObserveKeys, observedKey, type Tier } from './observe'
import { type Counters, createCounters } from './observed-call'
import {
  type AnyFunction,
  isGeneratorFunction,
  rejectUnknownOptions,
  resolveBoolean,
  resolveFunction,
  resolveHook,
  resolveNamespace,
  resolveStorage,
} from './options'
import { resolveFreshness } from './plan-freshness'
import { createReporter, type Reporter } from './report'
import type { AnyStorage, EntryMeta, SetOptions } from './storage'

/** The options of `cacheValue` (see `CacheValueOptions` for their documentation). */
export const VALUE_OPTIONS = [
  'storage',
  'ttl',
  'namespace',
  'name',
  'typed',
  'key',
  'ignoreArgs',
  'typeEncoders',
  'onError',
  'failOpen',
  'shouldCache',
  'circuitBreaker',
  'swr',
  'staleIfError',
  'errorBackoff',
  'timeout',
  'jitter',
  'random',
  'refreshAhead',
  'observeKeys',
  'stats',
  'tags',
  'singleFlight',
  'lease',
  'waitTimeout',
  'onLeaseTimeout',
] as const

const DEFAULT_ERROR_BACKOFF_MS = 10_000
const AsyncFunction = (async () => {}).constructor
/** Written with a result `fn` returned as a Promise, so its hits return a Promise in every process. */
export const PROMISE_META: EntryMeta = Object.freeze({ promise: true })

export interface Plan {
  readonly fn: AnyFunction
  readonly name: string
  readonly namespace: string
  readonly storage: AnyStorage
  readonly identity: Identity
  readonly encodeKey: (args: unknown[]) => string
  /** `'<escaped name>:'`, the start of every key of this function. */
  readonly keyPrefix: string
  /** The plain key encoding (no `typed`, `key`, `ignoreArgs`): the memory fast paths may skip the key string. */
  readonly plainKeys: boolean
  /** By-value memory hits (arg-scan.ts); type encoders can claim plain objects, so they turn it off. */
  readonly byValue: boolean
  /** `fn` is an `async function`: every call returns a Promise, so every hit does too. */
  readonly isAsyncFn: boolean
  readonly shouldCache: ((value: unknown) => boolean) | undefined
  readonly failOpen: boolean
  readonly breaker: Breaker
  readonly report: Reporter
  readonly freshness: FreshnessPolicy
  /** Constant write options when nothing varies per write (fixed ttl, no jitter, no timeline); else undefined. */
  readonly fixedSet: { readonly plain: SetOptions | undefined; readonly promise: SetOptions } | undefined
  readonly errorBackoffMs: number
  /** With a usable stale value in hand, return it after this many ms and let `fn` finish behind. */
  readonly softTimeoutMs: number | undefined
  /** Abort the computation's signal and free its callers after this many ms. */
  readonly hardTimeoutMs: number | undefined
  /** How keys appear in telemetry messages. */
  readonly observeKeys: ObserveKeys
  /** Outcome counts for `.stats()` (`stats` option); with them the wrapper always takes its observed path. */
  readonly counters: Counters | undefined
  /** The `tags` option: the tags of a call's result, checked on every read (tags.ts). */
  readonly tags: ((...args: unknown[]) => unknown) | undefined
  /** Leases over a shared storage (lease.ts); `undefined` when the storage takes none. */
  readonly lease: LeasePlan | undefined
  /** A process-local storage (memory) or a remote one, for telemetry. */
  readonly tier: Tier
  /** A `memokit:event` message about `key` of this function. */
  event(type: EventMessage['type'], key: string, error?: unknown): EventMessage
}

/** Checks every option and claims the function's identity (last, so a bad option leaves nothing behind). */
export function resolvePlan(fn: unknown, options: unknown): Plan {
  const entry = 'cacheValue'
  resolveFunction(entry, fn)
  if (isGeneratorFunction(fn)) {
    throw new ConfigError(
      'fn',
      `${entry}: fn is a generator function, which returns a one-shot iterator: the cached iterator would be exhausted for every call after the first; wrap a function that returns the collected values (e.g. an array) instead`,
    )
  }
  rejectUnknownOptions(entry, options, VALUE_OPTIONS)
  const o = options as Record<string, unknown>
  const storage = resolveStorage(entry, o.storage)
  const namespace = resolveNamespace(entry, o.namespace)
  const name = resolveName(entry, fn as AnyFunction, o.name)
  const { typed, key, ignoreArgs, typeEncoders } = o as Record<string, never>
  const encodeKey = createKeyEncoder({ functionName: name, typed, typeEncoders, ignoreArgs, key })
  const random = resolveHook<() => number>(entry, 'random', o.random) ?? Math.random
  const freshness = resolveFreshness(o, random)
  const timeout = resolveTimeout(o.timeout)
  const tags = resolveHook<(...args: unknown[]) => unknown>(entry, 'tags', o.tags)
  // A memory storage has no outage to ride out (a failed write is that value's bad size) and its reads never ask
  // the breaker, so an open breaker would report skipping a storage that stays in use. The option is still checked.
  const breakerConfig = resolveBreaker(entry, o.circuitBreaker)
  const plainKeys =
    typed !== true && key === undefined && (ignoreArgs === undefined || (ignoreArgs as unknown[]).length === 0)
  const plan: Plan = {
    fn: fn as AnyFunction,
    name,
    namespace,
    storage,
    identity: undefined as unknown as Identity,
    encodeKey,
    keyPrefix: `${escapeKeyPart(name)}:`,
    plainKeys,
    byValue: plainKeys && (typeEncoders === undefined || (typeEncoders as unknown[]).length === 0),
    isAsyncFn: fn instanceof AsyncFunction,
    shouldCache: resolveHook<(value: unknown) => boolean>(entry, 'shouldCache', o.shouldCache),
    failOpen: resolveBoolean(entry, 'failOpen', o.failOpen, true),
    breaker: storageBreaker(storage, memoryInternals(storage) === undefined && breakerConfig, random),
    report: createReporter(storage, resolveHook<(r: ErrorReport) => void>(entry, 'onError', o.onError), name),
    freshness,
    // Tagged entries carry their tags' tokens: no constant write options.
    fixedSet: tags === undefined ? fixedSetOptions(o.ttl, freshness) : undefined,
    errorBackoffMs:
      o.errorBackoff === undefined ? DEFAULT_ERROR_BACKOFF_MS : parseDuration(o.errorBackoff, 'errorBackoff'),
    softTimeoutMs: timeout.soft,
    hardTimeoutMs: timeout.hard,
    observeKeys: resolveObserveKeys(o.observeKeys),
    counters: resolveBoolean(entry, 'stats', o.stats, false) ? createCounters() : undefined,
    tags,
    lease: resolveLease(o, storage, timeout.hard),
    tier: memoryInternals(storage) === undefined ? 'remote' : 'local',
    event(type, key, error) {
      const message = {
        type,
        storage: storage.name,
        namespace,
        functionName: name,
        key: observedKey(this.observeKeys, key),
      }
      return error === undefined ? message : { ...message, error }
    },
  }
  const identity = claimIdentity(storage, namespace, name, fn as AnyFunction, o.name === undefined)
  return Object.freeze({ ...plan, identity })
}

function resolveTimeout(value: unknown): { soft: number | undefined; hard: number | undefined } {
  if (value === undefined) return { soft: undefined, hard: undefined }
  if (value === null || typeof value !== 'object') {
    throw new ConfigError('timeout', `cacheValue: timeout must be an object like { soft: '200ms', hard: '5s' }`)
  }
  for (const name of Object.keys(value)) {
    if (name === 'soft' || name === 'hard') continue
    const guess = closestName(name, ['soft', 'hard'])
    throw new ConfigError(
      'timeout',
      `cacheValue: unknown timeout option '${name}'${guess === undefined ? '' : ` (did you mean '${guess}'?)`}; timeout takes soft and hard, e.g. { soft: '200ms', hard: '5s' }`,
    )
  }
  const { soft, hard } = value as { soft?: unknown; hard?: unknown }
  const softMs = soft === undefined ? undefined : parseDuration(soft, 'timeout.soft')
  const hardMs = hard === undefined ? undefined : parseDuration(hard, 'timeout.hard')
  if (softMs !== undefined && hardMs !== undefined && softMs >= hardMs) {
    throw new ConfigError(
      'timeout',
      `cacheValue: timeout.soft (${softMs} ms) must be shorter than timeout.hard (${hardMs} ms)`,
    )
  }
  return { soft: softMs, hard: hardMs }
}

function resolveObserveKeys(value: unknown): ObserveKeys {
  if (value === undefined) return 'none'
  if (value === 'none' || value === 'digest' || value === 'raw') return value
  throw new ConfigError(
    'observeKeys',
    `cacheValue: observeKeys must be 'none' (default: keys can hold personal data), 'digest' (a 16-character SHA-256 digest) or 'raw', got ${String(value)}`,
  )
}

function fixedSetOptions(ttlOption: unknown, freshness: FreshnessPolicy): Plan['fixedSet'] {
  if (typeof ttlOption === 'function' || freshness.jitter !== undefined || freshness.timeline) return undefined
  const ttl = freshness.ttl?.(undefined)
  const plain = ttl === undefined || ttl === false ? undefined : Object.freeze({ ttl })
  return { plain, promise: Object.freeze({ ...plain, meta: PROMISE_META }) }
}
