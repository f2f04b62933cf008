/*
 * The key encoder's entry points: its options, `createKeyEncoder` and the encoding of an argument list (or of a
 * custom key's result), each with the retry that turns a fast first pass into a careful one. Values themselves are
 * encoded by key-value.ts.
 */
import { createHash, type Hash } from 'node:crypto'
import { KeyError } from './errors'
import { describeError, Fail, toKeyError, validateKeyOptions } from './key-errors'
import { resetJsonWork } from './key-json'
import { escapeKeyPart } from './key-part'
import { MAX_READABLE, numberText, quote } from './key-text'
import { enc } from './key-value'
import { type Context, RETRY } from './key-walk'

export { MAX_READABLE, needsEscape, numberText, quote } from './key-text'

/**
 * `[Class, encoder]`: values that are `instanceof Class` are replaced by `encoder(value)` before encoding.
 * Ordered, first match wins; applies at any depth and before the built-in handling of plain objects. The result
 * is encoded recursively (it may contain other type-encoded values). Keep encoders pure: one may run more than once
 * per call (values nested deeper than 64 levels are encoded twice).
 * @example [Decimal, (d) => d.toString()]
 */
// biome-ignore lint/suspicious/noExplicitAny: any class and any encoder must be assignable to the default
export type TypeEncoder<T = any> = readonly [abstract new (...args: any[]) => T, (value: T) => unknown]

/** Options of {@link createKeyEncoder}. */
export interface KeyEncoderOptions {
  /** The function identity (any string); the first part of every key, and named in errors. */
  readonly functionName: string
  /**
   * When true, every type-encoded value is tagged with the position of the encoder that matched it and its
   * constructor name (and null-prototype objects are kept apart from plain ones), so `f(new Decimal('1'))` and
   * `f('1')` get different keys even when Decimal's encoder returns `'1'`, and so do two classes that share a name
   * but not an encoder. When false they share a key. Every other value's type is always part of its encoding.
   * Default: false.
   */
  readonly typed?: boolean
  /** How to encode class instances; see {@link TypeEncoder}. Default: `[]` (a class instance is a KeyError). */
  readonly typeEncoders?: readonly TypeEncoder[]
  /**
   * Argument positions (0-based) left out of the key; the values there are never read. An ignored argument still
   * counts towards the argument count, so `f(1)` and `f(1, logger)` have different keys. Default: `[]`.
   */
  readonly ignoreArgs?: readonly number[]
  /**
   * A custom key function, called with the arguments; its result is encoded like arguments are (under its own
   * tag, so it never collides with an argument-list encoding). Cannot be combined with `ignoreArgs`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the wrapped function's parameters are the caller's business
  readonly key?: (...args: any[]) => unknown
}

/**
 * Returns a function that turns an argument list into a storage key: `${escapeKeyPart(functionName)}:${encoding}`.
 *
 * The encoding is canonical and injective over the supported values, identical in every process, Node version
 * and machine (it depends only on values, never on insertion order, `toString`, locale or endianness):
 * - argument list `[a,b]` (argument count matters: `f()`, `f(undefined)` differ); ignored positions are `*`;
 *   a custom key's result is `~` + its encoding; an encoding over 200 UTF-16 units becomes `#` + its SHA-256
 *   (all 256 bits, 43 base64url chars). The function identity before the `:` is never hashed.
 * - strings as JSON strings (lone surrogates escaped), numbers with `Object.is` semantics (`-0` and `0` differ,
 *   NaN is stable), `1n`, `true`, `null`, `undefined` all distinct.
 * - plain and null-prototype objects: own enumerable string keys, sorted; `{a: undefined}` differs from `{}`.
 *   Non-enumerable properties are not part of the key; an enumerable symbol key is a KeyError.
 * - arrays (only `Array` itself, not subclasses) by index; holes differ from `undefined` (`_`); non-index
 *   properties of arrays are not part of the key. An array with more than 64 holes and more holes than elements
 *   is `Array(length)[index:value,...]`, in time proportional to its elements, whatever its length.
 * - Map and Set sorted by their entries' encodings (so insertion order doesn't matter); Date by time value (an
 *   invalid Date is `Date(NaN)`); ArrayBuffer, SharedArrayBuffer and DataView by bytes; typed arrays by element
 *   values, tagged with their type, except that a NaN in a float array other than the one `NaN` is stored as
 *   carries its bits (`NaN:fff8000000000000`): a function reading the bytes would see them. A Buffer and a
 *   Uint8Array with the same bytes have DIFFERENT keys (a function may treat them differently; e.g. their
 *   `toString` differs).
 * - with `typed`, a type-encoded value is `@<encoder position>:<constructor name>(<encoding>)`.
 * - functions, symbols, class instances without a type encoder (anything else whose prototype isn't
 *   Object.prototype or null: WeakMap, Promise, RegExp, Error, URL, boxed primitives, subclasses of built-ins),
 *   cycles and nesting deeper than 500 are a `KeyError` naming the path, the type and the function, thrown
 *   before anything runs. Repeated (non-cyclic) references to one object are fine.
 *
 * Throws a `ConfigError` at once for invalid options.
 */
export function createKeyEncoder(options: KeyEncoderOptions): (args: readonly unknown[]) => string {
  const { functionName, typed = false, typeEncoders = [], ignoreArgs = [], key } = validateKeyOptions(options)
  const prefix = `${escapeKeyPart(functionName)}:`
  const openList = `${prefix}[`
  const context: Context = { typed, encoders: typeEncoders.length > 0 ? typeEncoders : undefined }

  if (key !== undefined) {
    return (args) => {
      let result: unknown
      try {
        result = key(...args)
      } catch (error) {
        throw new KeyError(
          `${functionName}: the custom key function threw (${describeError(error)}); cannot build a cache key`,
          { path: 'key(...args)', valueType: 'error', functionName },
          { cause: error },
        )
      }
      let encoding: string
      try {
        encoding = encodeTop(result, context)
      } catch (error) {
        throw toKeyError(error, 'key(...args)', functionName)
      }
      // Hashed in two pieces: `~` + a long encoding would be copied whole first.
      return encoding.length + 1 > MAX_READABLE
        ? `${prefix}#${createHash('sha256').update('~').update(encoding).digest('base64url')}`
        : `${prefix}~${encoding}`
    }
  }

  const ignored: boolean[] | undefined = ignoreArgs.length > 0 ? [] : undefined
  for (const i of ignoreArgs) (ignored as boolean[])[i] = true

  return (args) => {
    // The most common call shape, one primitive argument, skips the generic loop; must equal its output.
    if (args.length === 1 && ignored === undefined) {
      const a = args[0]
      if (typeof a === 'number') return `${openList}${numberText(a)}]`
      if (typeof a === 'string' && a.length < MAX_READABLE) {
        const q = quote(a)
        if (q.length < MAX_READABLE - 1) return `${openList}${q}]`
      }
    }
    try {
      try {
        return encodeList(openList, prefix, args, context, ignored, null)
      } catch (error) {
        if (error !== RETRY) throw error
        return encodeList(openList, prefix, args, context, ignored, [])
      }
    } catch (error) {
      throw toKeyError(error, 'args', functionName)
    }
  }
}

// An argument encoding this long is hashed on its own rather than appended: the key string would otherwise be
// copied whole before hashing (a tenth of the time for a 1,000,000-number array). The digest is the same, as
// every piece ends on a whole character.
const STREAM = 4096

/**
 * The key of an argument list: `prefix` followed by `[a,b,...]` (ignored positions are `*`), or by `#` and the
 * SHA-256 of that list when it is longer than MAX_READABLE. `start` is `prefix` and `[`, made once per encoder.
 */
function encodeList(
  start: string,
  prefix: string,
  args: readonly unknown[],
  c: Context,
  ignored: readonly boolean[] | undefined,
  stack: object[] | null,
): string {
  // The list is built onto the prefix directly: one string concatenation fewer on every call.
  let s = start
  let hash: Hash | undefined
  let i = 0
  resetJsonWork()
  try {
    for (; i < args.length; i++) {
      const e = ignored !== undefined && ignored[i] === true ? '*' : enc(args[i], c, 0, stack)
      if (hash === undefined && e.length < STREAM) {
        if (i !== 0) s += ','
        s += e
        continue
      }
      if (hash === undefined) hash = createHash('sha256').update(s.slice(prefix.length))
      if (i !== 0) hash.update(',')
      hash.update(e)
    }
  } catch (error) {
    if (error instanceof Fail) {
      error.segments.push(`[${i}]`)
      error.argIndex = i
    }
    throw error
  }
  if (hash !== undefined) return `${prefix}#${hash.update(']').digest('base64url')}`
  return s.length - prefix.length + 1 > MAX_READABLE
    ? `${prefix}#${createHash('sha256').update(s.slice(prefix.length)).update(']').digest('base64url')}`
    : `${s}]`
}

function encodeTop(v: unknown, c: Context): string {
  resetJsonWork()
  try {
    return enc(v, c, 0, null)
  } catch (error) {
    if (error !== RETRY) throw error
    return enc(v, c, 0, [])
  }
}
