/*
 * The freshness options (ttl, swr, staleIfError, refreshAhead, jitter), checked and parsed into the FreshnessPolicy
 * that resolvePlan (plan.ts) puts in the Plan. Apart from plan.ts because they depend on one another (every window
 * needs a ttl) and on nothing else in the Plan.
 */
import { type Duration, parseDuration } from './duration'
import { ConfigError } from './errors'
import type { FreshnessPolicy, PerResult } from './freshness'

/** A duration option that may also be a function of the result (`false` from it: don't store / no window). */
function perResult(value: unknown, option: string): PerResult | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') {
    const ms = parseDuration(value, option)
    return () => ms
  }
  const pick = value as (result: unknown) => Duration | false
  return (result) => {
    const chosen = pick(result)
    return chosen === false ? false : parseDuration(chosen, `${option} (returned by the ${option} function)`)
  }
}

export function resolveFreshness(o: Record<string, unknown>, random: () => number): FreshnessPolicy {
  const ttl = perResult(o.ttl, 'ttl')
  const swr = perResult(o.swr, 'swr')
  const staleIfError = perResult(o.staleIfError, 'staleIfError')
  const refreshAhead = resolveRefreshAhead(o.refreshAhead)
  const jitter = resolveJitter(o.jitter)
  for (const [option, set] of [
    ['swr', swr],
    ['staleIfError', staleIfError],
    ['refreshAhead', refreshAhead],
    ['jitter', jitter],
  ] as const) {
    if (set !== undefined && ttl === undefined) {
      throw new ConfigError(option, `cacheValue: ${option} needs a ttl: without one nothing ever goes stale`)
    }
  }
  // A lead as long as a fixed ttl puts the refresh point at or before the write: every hit would start a refresh.
  if (refreshAhead !== undefined && 'beforeMs' in refreshAhead && typeof o.ttl !== 'function') {
    const ttlMs = parseDuration(o.ttl, 'ttl')
    if (refreshAhead.beforeMs >= ttlMs) {
      throw new ConfigError(
        'refreshAhead',
        `cacheValue: refreshAhead ${String(o.refreshAhead)} must be shorter than ttl ${String(o.ttl)} (${refreshAhead.beforeMs} ms >= ${ttlMs} ms): every hit would start a refresh; give a shorter lead, or a fraction of ttl (0.8: refresh once 80% of ttl has passed)`,
      )
    }
  }
  const timeline = swr !== undefined || staleIfError !== undefined || refreshAhead !== undefined
  return Object.freeze({ ttl, swr, staleIfError, refreshAhead, jitter, random, timeline })
}

function resolveRefreshAhead(value: unknown): FreshnessPolicy['refreshAhead'] {
  if (value === undefined) return undefined
  if (typeof value === 'number' && value > 0 && value < 1) return { fraction: value }
  if (typeof value === 'string') return { beforeMs: parseDuration(value, 'refreshAhead') }
  throw new ConfigError(
    'refreshAhead',
    `cacheValue: refreshAhead must be a fraction of ttl between 0 and 1 (0.8: refresh once 80% of ttl has passed) or a duration string before staleAt ('30s'), got ${String(value)}`,
  )
}

function resolveJitter(value: unknown): FreshnessPolicy['jitter'] {
  if (value === undefined) return undefined
  const percent = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null
  if (percent !== null) {
    const fraction = Number(percent[1]) / 100
    if (fraction > 0 && fraction <= 1) return { fraction }
    throw new ConfigError('jitter', `cacheValue: a jitter percentage must be above 0% and at most 100%, got ${value}`)
  }
  return { ms: parseDuration(value, 'jitter') }
}
