import { describe } from './describe'
import { ConfigError } from './errors'

/**
 * A duration: milliseconds as a number, or a string of a decimal number and a unit: `'500ms'`, `'30s'`, `'5m'`,
 * `'1.5h'`, `'1d'` (units: ms, s, m, h, d). The type rejects `'5 minutes'` or `'1w'` when compiling; a string
 * from configuration can be passed as `value as Duration` and is checked when the wrapper is created.
 */
export type Duration = number | `${number}${DurationUnit}`
/** The units a duration string may use: milliseconds, seconds, minutes, hours, days (24 h). */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd'

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/
const EXAMPLES = "'500ms', '30s', '5m', '1.5h' or '1d'"

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
        `${option} ${describe(value)} is not a duration: use milliseconds as a number, or a number and one of the units ms, s, m, h, d, such as ${EXAMPLES}`,
      )
    }
    ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit]
  } else {
    throw new ConfigError(
      option,
      `${option} must be milliseconds (a number) or a duration string such as ${EXAMPLES}, got ${describe(value)}`,
    )
  }
  if (!Number.isFinite(ms) || ms <= 0) {
    // Omitting means "no expiry" for ttl only: other durations fall back to a default (or are off).
    const fix =
      option === 'ttl'
        ? 'omit it for no expiry'
        : option.includes('(returned by')
          ? 'return a positive duration, or false'
          : 'omit it for the default'
    throw new ConfigError(option, `${option} must be a positive, finite duration, got ${describe(value)}; ${fix}`)
  }
  return ms
}
