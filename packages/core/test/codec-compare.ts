import { inspect, isDeepStrictEqual } from 'node:util'
import { expect } from '@jest/globals'
import { CodecError } from '@memokit/core'

/**
 * The first place where `actual` is laid out differently from `expected`: object keys, Map entries or Set items in
 * another order, or a Map key / Set item that is not deep-equal to the one at the same position. `undefined` when
 * the two iterate alike. Content is left to `isDeepStrictEqual`, which ignores all of these orders.
 */
export function orderDifference(actual: unknown, expected: unknown, path = 'value'): string | undefined {
  if (typeof actual !== 'object' || typeof expected !== 'object' || actual === null || expected === null) {
    return undefined
  }
  if (expected instanceof Map && actual instanceof Map) {
    return sequenceDifference([...actual], [...expected], path, 'Map entry')
  }
  if (expected instanceof Set && actual instanceof Set) {
    return sequenceDifference([...actual], [...expected], path, 'Set item')
  }
  if (ArrayBuffer.isView(expected)) return undefined
  const actualKeys = Object.keys(actual)
  const expectedKeys = Object.keys(expected)
  if (!isDeepStrictEqual(actualKeys, expectedKeys)) {
    return `${path}: keys ${JSON.stringify(actualKeys)}, expected ${JSON.stringify(expectedKeys)}`
  }
  for (const key of expectedKeys) {
    const inner = orderDifference(
      (actual as Record<string, unknown>)[key],
      (expected as Record<string, unknown>)[key],
      `${path}[${JSON.stringify(key)}]`,
    )
    if (inner !== undefined) return inner
  }
  if (expected instanceof Error && actual instanceof Error) {
    return orderDifference(actual.cause, expected.cause, `${path}.cause`)
  }
  return undefined
}

function sequenceDifference(actual: unknown[], expected: unknown[], path: string, what: string): string | undefined {
  if (actual.length !== expected.length) return `${path}: ${actual.length} items, expected ${expected.length}`
  for (let i = 0; i < expected.length; i++) {
    if (!isDeepStrictEqual(actual[i], expected[i])) return `${path}: ${what} #${i} differs (or moved)`
    const inner = orderDifference(actual[i], expected[i], `${path}<${what} #${i}>`)
    if (inner !== undefined) return inner
  }
  return undefined
}

/** Throws unless `actual` is deep-strict-equal to `expected` and iterates in the same order everywhere. */
export function assertSameValue(actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`not deep-equal:\n  actual:   ${inspectShort(actual)}\n  expected: ${inspectShort(expected)}`)
  }
  const difference = orderDifference(actual, expected)
  if (difference !== undefined) throw new Error(`iteration order differs at ${difference}`)
}

function inspectShort(value: unknown): string {
  const text = inspect(value, { depth: 6 })
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text
}

/** The CodecError `run` throws; fails the test when it throws something else or nothing. */
export function codecError(run: () => unknown): CodecError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError)
    return error as CodecError
  }
  throw new Error('expected a CodecError, nothing was thrown')
}
