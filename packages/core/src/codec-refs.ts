/*
 * Shared and circular references, before superjson sees a value.
 *
 * superjson records where an object (or an equal BigInt) occurs more than once and restores those places by path
 * after rebuilding the value. With its de-duplication on, it writes `null` in all places but the first; restoring
 * by path then fails inside Map keys, Set items and registered class instances (a Map's keys collapse, a Set loses
 * its null or its order, a class field stays null). Without de-duplication, every place holds a full copy, but
 * restoring still deletes and re-inserts Map keys and Set items, moving them to the end. So the codec turns
 * de-duplication off and drops the recorded places: a shared value is stored as a copy in each place and comes
 * back as equal copies, in the same order. What copies cannot express is a cycle: superjson writes `null` there,
 * so this walk finds cycles first and throws. It also counts what copying adds, since a value built to share (a
 * tree whose every level holds the level below twice) would otherwise expand exponentially, and it rejects, with
 * the exact path, what superjson would pass through unchanged (class instances, Promises, functions, symbols) and
 * what it would rebuild as a base class (subclasses of Map, Set, Date, RegExp, URL, Array).
 */

import { storeByIndices } from './codec-builtins'
import {
  cannotEncode,
  formatPath,
  isJsonNumber,
  isObject,
  isPlainObjectLike,
  nameValue,
  type PathPart,
} from './codec-json'
import { className, withArticle } from './describe'
import { CodecError } from './errors'
import { isBuiltin, isDatePrototype } from './key-binary'

/** Values that copies of shared parts may add to a stored value before `encode` throws a CodecError. */
export const MAX_COPIED_VALUES = 1_000_000

/** Where superjson descends: the codec's registry, which decides that before plain structure does. */
export interface Descent {
  /** True for an instance of a class added with `registerClass` (its own enumerable properties are stored). */
  readonly isRegisteredClass: (value: object) => boolean
  /** True for a value a custom transformer encodes (opaque here: its data is walked when it is encoded). */
  readonly isCustom: (value: object) => boolean
}

interface Walk {
  readonly descent: Descent
  /** The objects enclosing the current position: meeting one again is a cycle. */
  readonly open: Set<object>
  /** Containers already walked, with the number of values their copy holds. */
  readonly sizes: Map<object, number>
  readonly path: PathPart[]
  copied: number
  plain: boolean
}

/**
 * Walks `value` the way superjson will (a custom-encoded value is opaque). Throws a CodecError naming the path of
 * a value that contains itself, or when storing shared parts as copies would add more than
 * {@link MAX_COPIED_VALUES} values. Returns true when the value is plain JSON data all through.
 */
export function checkReferences(value: unknown, descent: Descent): boolean {
  const walk: Walk = { descent, open: new Set(), sizes: new Map(), path: [], copied: 0, plain: true }
  visit(value, walk)
  return walk.plain
}

/** Returns how many values the copy of `value` holds (1 for a leaf). */
function visit(value: unknown, walk: Walk): number {
  if (!isObject(value)) {
    if (typeof value === 'function' || typeof value === 'symbol') throw cannotEncode(value, walk.path)
    if (walk.plain && !isJsonLeaf(value)) walk.plain = false
    return 1
  }
  const known = walk.sizes.get(value)
  if (known !== undefined) {
    walk.copied += known - 1
    if (walk.copied > MAX_COPIED_VALUES) throw tooManyCopies(walk.path)
    return known
  }
  if (walk.open.has(value)) throw cycle(walk.path)
  let size = 1
  const { descent, path } = walk
  // Before the custom types are asked: such an array is then one of them (stored by its indices).
  if (Array.isArray(value)) storeByIndices(value)
  if (descent.isRegisteredClass(value)) {
    walk.plain = false
    size += visitFields(value, walk)
  } else if (descent.isCustom(value)) {
    walk.plain = false
    return 1
  } else if (Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value)
    if (proto !== Array.prototype) {
      // superjson stores any array as an Array: a subclass would come back as its base class.
      if (!isBuiltin(proto, Array.prototype, 'Array', 2)) throw subclassOf(value, 'Array', walk.path)
      walk.plain = false
    }
    walk.open.add(value)
    // Dense: a sparse array is custom-encoded (in time proportional to its elements).
    for (let i = 0; i < value.length; i++) {
      path.push(i)
      size += visit(value[i], walk)
      path.pop()
    }
  } else if (value instanceof Map || value instanceof Set) {
    checkNotSubclass(value, value instanceof Map ? Map : Set, walk.path)
    walk.plain = false
    walk.open.add(value)
    size += visitEntries(value, walk)
  } else if (isPlainObjectLike(value)) {
    // A toJSON that is not an enumerable property (those are walked: a function is refused): JSON.stringify would
    // store its result. superjson's copy holds the enumerable properties only.
    if ('toJSON' in value) walk.plain = false
    size += visitFields(value, walk)
  } else if (value instanceof Date) {
    // superjson writes it as one string, and decodes it with the Date of the moment: a fake clock's is a Date too.
    if (!isDatePrototype(Object.getPrototypeOf(value))) throw subclassOf(value, 'Date', walk.path)
    walk.plain = false
    return 1
  } else if (value instanceof RegExp || value instanceof URL) {
    // superjson writes each as one string.
    checkNotSubclass(value, value instanceof RegExp ? RegExp : URL, walk.path)
    walk.plain = false
    return 1
  } else {
    // superjson would pass it through, and JSON.stringify would write `{}` or drop it.
    throw cannotEncode(value, walk.path)
  }
  walk.open.delete(value)
  walk.sizes.set(value, size)
  return size
}

function visitFields(value: object, walk: Walk): number {
  walk.open.add(value)
  let size = 0
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    walk.path.push(key)
    size += visit(record[key], walk)
    walk.path.pop()
  }
  return size
}

function visitEntries(collection: Map<unknown, unknown> | Set<unknown>, walk: Walk): number {
  let size = 0
  let index = 0
  if (collection instanceof Map) {
    for (const [key, item] of collection) {
      walk.path.push({ entry: 'key', index })
      size += visit(key, walk)
      walk.path.pop()
      walk.path.push({ entry: 'value', index })
      size += visit(item, walk)
      walk.path.pop()
      index++
    }
  } else {
    for (const item of collection) {
      walk.path.push({ entry: 'item', index: index++ })
      size += visit(item, walk)
      walk.path.pop()
    }
  }
  return size
}

/**
 * superjson recognises these built-ins by `instanceof` and rebuilds the built-in itself, so an instance of a
 * subclass (or with another prototype) would come back as the base class: refused instead.
 */
function checkNotSubclass(
  value: object,
  base: { readonly prototype: object; readonly name: string },
  path: PathPart[],
): void {
  if (Object.getPrototypeOf(value) !== base.prototype) throw subclassOf(value, base.name, path)
}

function subclassOf(value: object, base: string, path: readonly PathPart[]): CodecError {
  const name = className(value) ?? 'its class'
  return new CodecError(
    `Cannot encode ${nameValue(value)} at ${formatPath(path)}: ${name} is a subclass of ${base}, which would come ` +
      `back as a plain ${base}. Add it with codec.register({ name, isApplicable, serialize, deserialize }), or ` +
      `convert it to ${withArticle(base)} before caching.`,
  )
}

function isJsonLeaf(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && isJsonNumber(value))
}

function cycle(path: readonly PathPart[]): CodecError {
  return new CodecError(
    `Cannot encode a value that contains itself (a cycle): ${formatPath(path)} refers back to an enclosing value. ` +
      'Cache an acyclic copy (for instance, replace the back-reference by an id).',
  )
}

function tooManyCopies(path: readonly PathPart[]): CodecError {
  return new CodecError(
    `Cannot encode the value: its shared parts are stored as copies, and the copies would add more than ` +
      `${MAX_COPIED_VALUES.toLocaleString('en-US')} values (the last one at ${formatPath(path)}). ` +
      'Cache a value that holds each part once, or one that refers to shared parts by id.',
  )
}
