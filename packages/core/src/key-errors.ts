/*
 * The key encoder's errors: ConfigErrors for its options (thrown when a wrapper is created) and the KeyError for
 * a value it cannot encode (thrown before the wrapped function runs), each saying what was wrong and how to fix it.
 */
import { hasLoneSurrogate } from './backend'
import { describe, withArticle } from './describe'
import { ConfigError, KeyError } from './errors'
import type { KeyEncoderOptions } from './keys'

/** Containers nested deeper than this are a KeyError rather than a stack overflow (also stops encoder loops). */
export const MAX_DEPTH = 500

/** Why encoding failed and where; segments are appended innermost first while the recursion unwinds. */
export class Fail {
  readonly segments: string[] = []
  /** The argument the value sits in; undefined inside a custom key's result. */
  argIndex: number | undefined = undefined
  constructor(
    readonly valueType: string,
    readonly reason: 'unsupported' | 'function' | 'symbol' | 'symbol-key' | 'cycle' | 'depth' | 'encoder' | 'self',
    readonly cause?: unknown,
  ) {}
}

/** Adds one step of the path (`.user`, `[0]`) to a failure passing through. */
export function addSegment(error: unknown, segment: string): void {
  if (error instanceof Fail) error.segments.push(segment)
}

export const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

export function propertySegment(k: string): string {
  return IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/** The valueType of an object whose prototype is neither a class's nor Object.prototype or null. */
export const CUSTOM_PROTOTYPE = 'object with a custom prototype'

/** Checks the key options at wrap time; throws a ConfigError naming the option. */
export function validateKeyOptions(options: KeyEncoderOptions): KeyEncoderOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('options', `key options must be an object, got ${describe(options)}`)
  }
  const { functionName, typed, typeEncoders, ignoreArgs, key } = options
  if (typeof functionName !== 'string') {
    throw new ConfigError('name', `name must be a string, got ${describe(functionName)}`)
  }
  if (hasLoneSurrogate(functionName)) {
    throw new ConfigError(
      'name',
      `name ${JSON.stringify(functionName)} contains a lone surrogate (half of a UTF-16 pair), which is not valid text: storages that hold UTF-8 turn every one into U+FFFD, so different names would meet; use well-formed text`,
    )
  }
  const who = `${functionName}:`
  if (typed !== undefined && typeof typed !== 'boolean') {
    throw new ConfigError('typed', `${who} typed must be true or false, got ${describe(typed)}`)
  }
  if (key !== undefined && typeof key !== 'function') {
    throw new ConfigError('key', `${who} key must be a function (...args) => value, got ${describe(key)}`)
  }
  if (typeEncoders !== undefined) validateTypeEncoders(who, typeEncoders)
  if (ignoreArgs !== undefined) {
    if (!Array.isArray(ignoreArgs)) {
      throw new ConfigError(
        'ignoreArgs',
        `${who} ignoreArgs must be an array of argument positions, e.g. [1], got ${describe(ignoreArgs)}`,
      )
    }
    const seen = new Set<number>()
    ignoreArgs.forEach((position: unknown, index) => {
      if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) {
        throw new ConfigError(
          'ignoreArgs',
          `${who} ignoreArgs[${index}] must be a 0-based argument position (a non-negative integer), got ${describe(position)}`,
        )
      }
      if (seen.has(position)) {
        throw new ConfigError('ignoreArgs', `${who} ignoreArgs lists position ${position} twice`)
      }
      seen.add(position)
    })
    if (key !== undefined && ignoreArgs.length > 0) {
      throw new ConfigError(
        'ignoreArgs',
        `${who} key and ignoreArgs cannot be combined: a custom key already decides which arguments matter, so leave them out of the key function instead`,
      )
    }
  }
  return options
}

function validateTypeEncoders(who: string, typeEncoders: unknown): void {
  if (!Array.isArray(typeEncoders)) {
    throw new ConfigError(
      'typeEncoders',
      `${who} typeEncoders must be an array of [Class, encoder] pairs, e.g. typeEncoders: [[Decimal, (d) => d.toString()]], got ${describe(typeEncoders)}`,
    )
  }
  typeEncoders.forEach((pair: unknown, index) => {
    const p = pair as readonly unknown[]
    const cls = Array.isArray(p) ? p[0] : undefined
    const ok =
      Array.isArray(p) &&
      p.length === 2 &&
      typeof cls === 'function' &&
      typeof (cls as { prototype?: unknown }).prototype === 'object' &&
      (cls as { prototype?: unknown }).prototype !== null &&
      typeof p[1] === 'function'
    if (!ok) {
      throw new ConfigError(
        'typeEncoders',
        `${who} typeEncoders[${index}] must be a [Class, encoder] pair (a class or constructor function, then a function of the instance), e.g. [Decimal, (d) => d.toString()], got ${describe(pair)}`,
      )
    }
  })
}

/** What a value of this type is, in a sentence: `a Socket instance`, `an Error instance`. */
function instanceText(valueType: string): string {
  return valueType === CUSTOM_PROTOTYPE
    ? `an ${CUSTOM_PROTOTYPE} (its inherited properties would be invisible in the key)`
    : `${withArticle(valueType)} instance`
}

/** Turns a Fail into the KeyError the caller sees; anything else passes through unchanged. */
export function toKeyError(error: unknown, root: string, functionName: string): unknown {
  if (!(error instanceof Fail)) return error
  const segments = error.segments.reverse()
  // A path hundreds of levels deep (a runaway type encoder) is shortened to its ends.
  const path =
    root +
    (segments.length > 16 ? `${segments.slice(0, 6).join('')}…${segments.slice(-6).join('')}` : segments.join(''))
  const { valueType, reason, argIndex } = error
  const ignore = argIndex === undefined ? undefined : `ignoreArgs: [${argIndex}]`
  const leaveOut =
    ignore === undefined
      ? 'change the custom key function so it returns only encodable values'
      : `leave the argument out of the key with ${ignore}, or pick what matters with a custom key: (...args) => ...`
  const encoderHint = `typeEncoders: [[${IDENTIFIER.test(valueType) ? valueType : 'TheClass'}, (value) => ...]]`
  let what: string
  let fix = leaveOut
  switch (reason) {
    case 'unsupported':
      what = `is ${instanceText(valueType)}, which memokit cannot encode (built in: primitives, plain objects, arrays, Map, Set, Date, typed arrays, Buffer, ArrayBuffer, DataView)`
      fix = `encode it with ${encoderHint}, or ${leaveOut}`
      break
    case 'function':
      what = 'is a function, which cannot be part of a cache key'
      break
    case 'symbol':
      what = 'is a symbol, which cannot be part of a cache key (symbols are unique per process)'
      break
    case 'symbol-key':
      what = 'is a symbol-keyed property, which cannot be part of a cache key (symbols are unique per process)'
      break
    case 'cycle':
      what = 'refers back to an object that contains it (a cycle), which cannot be encoded'
      break
    case 'depth':
      what = `is nested more than ${MAX_DEPTH} levels deep (a type encoder that returns another value it matches?)`
      break
    case 'encoder':
      what = `is ${withArticle(valueType)} whose type encoder threw (${describeError(error.cause)})`
      fix = 'fix the type encoder'
      break
    case 'self':
      what = `is ${withArticle(valueType)} whose type encoder returned the value itself, which would loop forever`
      fix = 'make the type encoder return a plain representation such as a string or plain object'
      break
  }
  return new KeyError(
    `${functionName}: cannot build a cache key: ${path} ${what}; ${fix}`,
    { path, valueType, functionName },
    error.cause === undefined ? undefined : { cause: error.cause },
  )
}
