/*
 * The codec's checks on plain JSON data: the fast test that lets a value skip superjson, the check that what
 * superjson and custom transformers produced is plain JSON, and how the codec names a position and a value in its
 * messages.
 */
import { className, withArticle } from './describe'
import { CodecError } from './errors'

/**
 * A position in a value, for messages: a property name, an array index, or the n-th entry of a Map or Set
 * (`{ entry: 'key' | 'value' | 'item', index }`). Kept raw while walking; formatted only for a message.
 */
export type PathPart = string | number | { readonly entry: 'key' | 'value' | 'item'; readonly index: number }

/** `value["user"][3]<Map key #0>`: a path as the codec's messages write it. */
export function formatPath(path: readonly PathPart[], root = 'value'): string {
  let out = root
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else if (typeof part === 'string') out += `[${JSON.stringify(part)}]`
    else out += `<${part.entry === 'item' ? 'Set item' : `Map ${part.entry}`} #${part.index}>`
  }
  return out
}

export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

export function isPlainObjectLike(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** A number JSON writes and reads back unchanged: finite, and not -0. */
export function isJsonNumber(value: number): boolean {
  return value - value === 0 && (value !== 0 || 1 / value > 0)
}

/** How messages name a value: `an Invoice instance`, `a function (load)`, `a symbol`, `undefined`, `a number`. */
export function nameValue(value: unknown): string {
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`
  if (!isObject(value)) return value === undefined || value === null ? String(value) : withArticle(typeof value)
  if (Array.isArray(value)) return 'an array'
  if (isPlainObjectLike(value)) return 'an object'
  const name = className(value)
  return name === undefined ? 'an instance of an anonymous class' : `${withArticle(name)} instance`
}

// Deeper plain values take the slow path, whose walk also finds cycles; keeps this check's recursion bounded.
const MAX_PLAIN_DEPTH = 100
// Items and properties the fast check reads before it gives up: a value built to share (every level holding the
// level below twice) would otherwise make it, and JSON.stringify after it, take exponential time. The slow path
// counts what such sharing would copy and rejects it (see codec-refs.ts).
const MAX_PLAIN_VISITS = 1_000_000
let visitsLeft = 0

/**
 * True when `JSON.parse(JSON.stringify(value))` gives back an equal value: one walk that stops at the first thing
 * needing annotation, without allocating (for..in uses V8's enum cache). False for anything deeper than 100 levels
 * or larger than 1,000,000 items: the slow path decides those.
 */
export function isPlainJson(value: unknown): boolean {
  visitsLeft = MAX_PLAIN_VISITS
  return plainJson(value, 0)
}

function plainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return isJsonNumber(value)
    case 'object': {
      if (value === null) return true
      if (depth > MAX_PLAIN_DEPTH) return false
      const proto = Object.getPrototypeOf(value)
      if (Array.isArray(value)) {
        // JSON.stringify would store what toJSON returns.
        if (proto !== Array.prototype || 'toJSON' in value) return false
        const array = value
        // `undefined` (or a hole) becomes null in JSON.
        for (let i = 0; i < array.length; i++) if (--visitsLeft < 0 || !plainJson(array[i], depth + 1)) return false
        return true
      }
      if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return false
      const record = value as Record<string, unknown>
      for (const key in record) if (--visitsLeft < 0 || !plainJson(record[key], depth + 1)) return false
      return true
    }
    default:
      return false
  }
}

/**
 * Checks that `value` is plain JSON data. superjson passes values it does not know (unregistered class instances,
 * Promises, functions, symbols) through untouched, and JSON.stringify would then store them as `{}` or drop them;
 * a custom transformer is documented to return plain JSON and is checked too (`transformer`: its name).
 */
export function assertJson(value: unknown, path: PathPart[], transformer?: string): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (isJsonNumber(value)) return
      throw notJson(Object.is(value, -0) ? '-0' : String(value), path, transformer)
    case 'object': {
      if (value === null) return
      if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw notJson('a sparse array', path, transformer)
          path.push(i)
          assertJson(value[i], path, transformer)
          path.pop()
        }
        return
      }
      if (isPlainObjectLike(value)) {
        const record = value as Record<string, unknown>
        for (const key in record) {
          path.push(key)
          assertJson(record[key], path, transformer)
          path.pop()
        }
        return
      }
      throw notJson(nameValue(value), path, transformer, value)
    }
    case 'bigint':
      throw notJson('a BigInt', path, transformer)
    default:
      throw notJson(nameValue(value), path, transformer, value)
  }
}

/** The error for a value superjson would pass through unchanged (a class instance, a Promise, a function). */
export function cannotEncode(value: unknown, path: readonly PathPart[]): CodecError {
  return notJson(nameValue(value), path, undefined, value)
}

function notJson(
  what: string,
  path: readonly PathPart[],
  transformer: string | undefined,
  value?: unknown,
): CodecError {
  if (transformer !== undefined) {
    return new CodecError(
      `Cannot encode ${what} returned by the custom type "${transformer}" (at ${formatPath(path, 'data')}): its ` +
        'serialize must return plain JSON data (null, booleans, strings, finite numbers, arrays and plain objects).',
    )
  }
  const where = formatPath(path)
  if (typeof value === 'function' || typeof value === 'symbol') {
    return new CodecError(
      `Cannot encode ${what} at ${where}: functions and symbols cannot be cached; return plain data instead.`,
    )
  }
  const then = (value as { then?: unknown } | undefined)?.then
  if (typeof then === 'function') {
    const promise = Object.prototype.toString.call(value) === '[object Promise]'
    return new CodecError(
      `Cannot encode ${where}: it contains ${promise ? 'a Promise' : `a Promise-like ${className(value as object) ?? 'object'} (it has a then() method)`}. ` +
        'Is an `await` missing where this value is built? Cache the awaited value instead.',
    )
  }
  const name = className(value as object)
  if (name === undefined) {
    return new CodecError(
      `Cannot encode ${what} at ${where}: give the class a name and register it with codec.registerClass(), ` +
        'or convert it to plain data before caching.',
    )
  }
  return new CodecError(
    `Cannot encode ${what} at ${where}: register the class with codec.registerClass(${name}) or ` +
      'codec.register({ name, isApplicable, serialize, deserialize }), or convert it to plain data before caching.',
  )
}
