import { ConfigError } from './errors'

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | `${number}${DurationUnit}`
/** The units a duration string may use. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd'

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/

/**
 * Turns a duration into milliseconds. Throws a {@link ConfigError} naming `option` for 0, a negative number,
 * NaN, Infinity, or a string it cannot read, so a typo never silently means "no expiry".
 */
export function parseDuration(value: unknown, option = 'ttl'): number {
  let ms: number
  if (typeof value === 'number') {
    ms = value
  } else if (typeof value === 'string') {
    const match = PATTERN.exec(value)
    if (!match) {
      throw new ConfigError(
        option,
        `${option} ${JSON.stringify(value)} is not a duration: use milliseconds as a number or a string like '500ms', '30s', '5m', '1h', '1d'`,
      )
    }
    ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit]
  } else {
    throw new ConfigError(
      option,
      `${option} must be milliseconds (a number) or a duration string like '5m', got ${typeof value}`,
    )
  }
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new ConfigError(
      option,
      `${option} must be a positive, finite duration, got ${String(value)}; omit it for no expiry`,
    )
  }
  return ms
}
