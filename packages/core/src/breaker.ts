import { ConfigError } from './errors'

/** Options of the circuit breaker of `cacheValue`. */
export interface CircuitBreakerOptions {
  /** Consecutive storage failures that open the circuit. Default: 5. */
  readonly failures?: number
  /** How long an open circuit skips the storage, in ms; then one call probes it. Default: 5,000. */
  readonly cooldownMs?: number
}

/** A wrapper's view of its storage's health: while open, reads and writes are skipped and `fn` just runs. */
export interface Breaker {
  /** True when the storage should be used for this call (closed, or the one probe after the cooldown). */
  allow(): boolean
  success(): void
  /** Counts a failure; returns a message when this failure opened the circuit. */
  failure(): string | undefined
}

const ALWAYS: Breaker = { allow: () => true, success: () => {}, failure: () => undefined }

export function createBreaker(entry: string, options: unknown): Breaker {
  if (options === false) return ALWAYS
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new ConfigError(
      'circuitBreaker',
      `${entry}: circuitBreaker must be false or an object like { failures: 5, cooldownMs: 5000 }`,
    )
  }
  const { failures: limit = 5, cooldownMs = 5_000 } = (options ?? {}) as CircuitBreakerOptions
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ConfigError(
      'circuitBreaker',
      `${entry}: circuitBreaker.failures must be a positive integer, got ${limit}`,
    )
  }
  if (typeof cooldownMs !== 'number' || !Number.isFinite(cooldownMs) || cooldownMs <= 0) {
    throw new ConfigError(
      'circuitBreaker',
      `${entry}: circuitBreaker.cooldownMs must be a positive number of milliseconds, got ${String(cooldownMs)}`,
    )
  }
  let consecutive = 0
  let openUntil = 0
  let probing = false
  return {
    allow() {
      if (consecutive < limit) return true
      // Open: skip the storage until the cooldown ends, then let exactly one call probe it.
      if (probing || Date.now() < openUntil) return false
      probing = true
      return true
    },
    success() {
      consecutive = 0
      probing = false
    },
    failure() {
      consecutive++
      probing = false
      if (consecutive < limit) return undefined
      openUntil = Date.now() + cooldownMs
      return `${consecutive} storage failures in a row: skipping the storage for ${cooldownMs} ms (circuitBreaker), then one call probes it`
    },
  }
}
