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
})
