import { describe, expect, it } from '@jest/globals'
import { ConfigError } from '@memokit/core'
import { parseDuration } from '../src/duration'

describe('parseDuration', () => {
  it.each([
    [250, 250],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1.5s', 1_500],
  ])('%p is %p ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms)
  })

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '0s', '5', '5 minutes', '1w', '', null, {}])(
    '%p is rejected with a ConfigError that names the option',
    (input) => {
      expect(() => parseDuration(input, 'ttl')).toThrow(ConfigError)
      expect(() => parseDuration(input, 'ttl')).toThrow(/ttl/)
    },
  )

  it.each([
    [
      '5 minutes',
      `ttl "5 minutes" is not a duration: use milliseconds as a number, or a number and one of the units ms, s, m, h, d, such as '500ms', '30s', '5m', '1.5h' or '1d'`,
    ],
    [undefined, /^ttl must be milliseconds \(a number\) or a duration string such as .*, got undefined$/],
    [null, /, got null$/],
    [{}, /, got an object$/],
    [0, 'ttl must be a positive, finite duration, got 0; omit it for no expiry'],
    ['0s', 'ttl must be a positive, finite duration, got "0s"; omit it for no expiry'],
  ])('%p: the message says what was wrong in words', (input, message) => {
    expect(() => parseDuration(input, 'ttl')).toThrow(message)
  })
})
