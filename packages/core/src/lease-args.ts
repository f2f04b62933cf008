/**
 * The argument checks every storage's lease members share (exported to backends by `@memokit/core/backend`). Core
 * only passes such values: they guard direct calls, where a short token or a NaN ttl would make a lease anyone can
 * take, or none.
 */
import { describeValue, hasLoneSurrogate } from './backend'
import { ConfigError } from './errors'

/** A token is a string of 16 to 64 characters of well-formed text; else a ConfigError naming `token`. */
export function checkLeaseToken(storage: string, token: unknown): void {
  if (typeof token !== 'string' || token.length < 16 || token.length > 64 || hasLoneSurrogate(token)) {
    throw new ConfigError(
      'token',
      `${storage} storage: a lease token must be a string of 16 to 64 characters (well-formed text), got ${describeValue(token)}`,
    )
  }
}

/** A lease ttl is a positive, finite number of ms; else a ConfigError naming `ttl`. */
export function checkLeaseTtl(storage: string, ttl: unknown): void {
  if (!(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
    throw new ConfigError(
      'ttl',
      `${storage} storage: a lease ttl must be a positive, finite number of milliseconds, got ${describeValue(ttl)}`,
    )
  }
}

/** Both checks of a lease call on `storage`; the ttl only unless `undefined`. */
export function checkLeaseArgs(storage: string, token: unknown, ttl?: unknown): void {
  checkLeaseToken(storage, token)
  if (ttl !== undefined) checkLeaseTtl(storage, ttl)
}
