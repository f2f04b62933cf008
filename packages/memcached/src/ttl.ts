/** memcached reads an exptime above this many seconds (30 days) as an absolute Unix time, not as a duration. */
export const MAX_RELATIVE_EXPTIME_S = 2_592_000

// memcached parses exptime as a signed 32-bit number of seconds; beyond it (January 2038) the server refuses
// the command, so such entries get no server-side expiry and rely on the expiresAt check on read.
const MAX_EXPTIME_S = 2_147_483_647

/**
 * Turns a TTL in ms into memcached's `exptime`: whole seconds rounded up (an entry never leaves memcached before
 * its ms deadline because of rounding), sent as an absolute Unix time in seconds when over 30 days, and `0`
 * ("no expiry") when there is no TTL or when the deadline lies past what memcached can represent (2038).
 * Reads still compare the payload's `expiresAt` with the clock, so rounding up never serves an expired value.
 */
export function toExptime(ttlMs: number | undefined, nowMs: number = Date.now()): number {
  if (ttlMs === undefined) return 0
  const seconds = Math.ceil(ttlMs / 1000)
  if (seconds <= MAX_RELATIVE_EXPTIME_S) return seconds
  const absolute = Math.ceil((nowMs + ttlMs) / 1000)
  return absolute > MAX_EXPTIME_S ? 0 : absolute
}
