/** The argument check every storage's lease members share (exported to backends by `@memokit/core/backend`). */
import { describeValue, hasLoneSurrogate } from './backend'
import { ConfigError } from './errors'

/**
 * Checks the token (a string of 16 to 64 characters) and, unless `undefined`, the ttl (a positive, finite number
 * of ms) of a lease call made on `storage`; throws a ConfigError naming `token` or `ttl`. Core only passes such
 * values: this guards direct calls, where a short token or a NaN ttl would make a lease anyone can take or none.
 */
export function checkLeaseArgs(storage: string, token: unknown, ttl?: unknown): void {
  if (typeof token !== 'string' || token.length < 16 || token.length > 64 || hasLoneSurrogate(token)) {
    throw new ConfigError(
      'token',
      `${storage} storage: a lease token must be a string of 16 to 64 characters (well-formed text), got ${describeValue(token)}`,
    )
  }
  if (ttl !== undefined && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
    throw new ConfigError(
      'ttl',
      `${storage} storage: a lease ttl must be a positive, finite number of milliseconds, got ${describeValue(ttl)}`,
    )
  }
}
