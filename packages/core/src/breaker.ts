import { closestName } from './backend'
import { ConfigError } from './errors'

/** Options of the circuit breaker of `cacheValue`. */
export interface CircuitBreakerOptions {
  /** Consecutive storage failures that open the circuit. Default: 5. */
  readonly failures?: number
  /** How long an open circuit skips the storage, in ms; then one call probes it. Default: 5,000. */
  readonly cooldownMs?: number
}

/** A storage's health as the wrappers on it see it: while open, reads and writes are skipped and `fn` just runs. */
export interface Breaker {
  /** True when the storage should be used for this call (closed, or the one probe after the cooldown). */
  allow(): boolean
  /** Counts a success; returns true when it closed an open circuit (the probe succeeded). */
  success(): boolean
  /** Counts a failure; returns a message when this failure opened the circuit. */
  failure(): string | undefined
}

const ALWAYS: Breaker = { allow: () => true, success: () => false, failure: () => undefined }

/** The circuitBreaker option, checked: `false` for off. */
export interface BreakerConfig {
  readonly failures: number
  readonly cooldownMs: number
}

export function resolveBreaker(entry: string, options: unknown): BreakerConfig | false {
  if (options === false) return false
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new ConfigError(
      'circuitBreaker',
      `${entry}: circuitBreaker must be false or an object like { failures: 5, cooldownMs: 5000 }`,
    )
  }
  for (const name of Object.keys(options ?? {})) {
    if (name === 'failures' || name === 'cooldownMs') continue
    const guess = closestName(name, ['failures', 'cooldownMs'])
    throw new ConfigError(
      'circuitBreaker',
      `${entry}: unknown circuitBreaker option '${name}'${guess === undefined ? '' : ` (did you mean '${guess}'?)`}; circuitBreaker takes failures and cooldownMs, e.g. { failures: 5, cooldownMs: 5000 }`,
    )
  }
  const { failures = 5, cooldownMs = 5_000 } = (options ?? {}) as CircuitBreakerOptions
  if (!Number.isInteger(failures) || failures < 1) {
    throw new ConfigError(
      'circuitBreaker',
      `${entry}: circuitBreaker.failures must be a positive integer, got ${String(failures)}`,
    )
  }
  if (typeof cooldownMs !== 'number' || !Number.isFinite(cooldownMs) || cooldownMs <= 0) {
    throw new ConfigError(
      'circuitBreaker',
      `${entry}: circuitBreaker.cooldownMs must be a positive number of milliseconds, got ${String(cooldownMs)}`,
    )
  }
  return { failures, cooldownMs }
}

// One breaker per storage object and configuration: every wrapper on a hung server learns from the others'
// failures, so 100 wrappers cost `failures` timeouts in all, not 100 times that.
const shared = new WeakMap<object, Map<string, Breaker>>()

/**
 * The breaker of `storage` for `config`, shared by every wrapper that uses the same storage object and settings.
 * The cooldown varies by ±20% (`random` in [0, 1)), so replicas that opened together don't probe together.
 */
export function storageBreaker(storage: object, config: BreakerConfig | false, random: () => number): Breaker {
  if (config === false) return ALWAYS
  let byConfig = shared.get(storage)
  if (byConfig === undefined) {
    byConfig = new Map()
    shared.set(storage, byConfig)
  }
  const id = `${config.failures}/${config.cooldownMs}`
  let breaker = byConfig.get(id)
  if (breaker === undefined) {
    breaker = createBreaker(config, random)
    byConfig.set(id, breaker)
  }
  return breaker
}

function createBreaker({ failures: limit, cooldownMs }: BreakerConfig, random: () => number): Breaker {
  let consecutive = 0
  let openUntil = 0
  const cooldown = (): number => Math.round(cooldownMs * (0.8 + 0.4 * random()))
  return {
    allow() {
      if (consecutive < limit) return true
      // Open: skip the storage until the cooldown ends, then let exactly one call probe it. The next probe is due a
      // cooldown later unless this one reports first: a probe may never report (a hung request, or a read that
      // found a corrupt entry, which counts neither way, with no write after it), and must not keep the circuit
      // open for good.
      const now = Date.now()
      if (now < openUntil) return false
      openUntil = now + cooldown()
      return true
    },
    success() {
      const closed = consecutive >= limit
      consecutive = 0
      return closed
    },
    failure() {
      consecutive++
      if (consecutive < limit) return undefined
      const ms = cooldown()
      openUntil = Date.now() + ms
      return `${consecutive} storage failures in a row: skipping the storage for ${ms} ms (circuitBreaker), then one call probes it`
    },
  }
}
