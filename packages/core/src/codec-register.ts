/**
 * What `codec.register()` and `codec.registerClass()` accept, checked before anything is registered: a clear
 * ConfigError naming what is wrong, and no half-registered type.
 */

import type { CodecTransformer } from './codec'
import { BUILTIN_CLASSES, slotBuiltinBase } from './codec-builtins'
import { isObject } from './codec-json'
import { ConfigError } from './errors'

// Names of the codec's own types; a user's type may not take one.
export const RESERVED_PREFIX = 'memokit:'

/** Checks a transformer given to `register`. */
export function checkTransformer(
  transformer: unknown,
  taken: ReadonlySet<string>,
): asserts transformer is CodecTransformer {
  if (!isObject(transformer)) throw new ConfigError('transformer', 'codec.register() expects a transformer object.')
  const { name, isApplicable, serialize, deserialize } = transformer as Partial<CodecTransformer>
  if (typeof name !== 'string' || name === '') {
    throw new ConfigError('name', 'codec.register(): `name` must be a non-empty string.')
  }
  if (name.startsWith(RESERVED_PREFIX)) {
    throw new ConfigError('name', `codec.register(): names starting with "${RESERVED_PREFIX}" are reserved.`)
  }
  if (taken.has(name)) {
    throw new ConfigError('name', `codec.register(): a type named "${name}" is already registered on this codec.`)
  }
  for (const [key, fn] of [
    ['isApplicable', isApplicable],
    ['serialize', serialize],
    ['deserialize', deserialize],
  ] as const) {
    if (typeof fn !== 'function') {
      throw new ConfigError(key, `codec.register(): \`${key}\` of "${name}" must be a function.`)
    }
  }
}

/** Checks a class given to `registerClass` and returns the name its payloads will carry. */
export function checkClass(
  cls: unknown,
  options: { readonly name?: string } | undefined,
  taken: ReadonlySet<string>,
): string {
  if (typeof cls !== 'function' || !isObject(cls.prototype)) {
    throw new ConfigError('class', 'codec.registerClass() expects a class.')
  }
  const name = options?.name ?? cls.name
  if (typeof name !== 'string' || name === '') {
    throw new ConfigError('name', 'codec.registerClass(): the class has no name; pass { name }.')
  }
  if (taken.has(name)) {
    throw new ConfigError(
      'name',
      `codec.registerClass(): a class named "${name}" is already registered on this codec; pass a unique { name }.`,
    )
  }
  if (BUILTIN_CLASSES.has(cls)) {
    throw new ConfigError('class', `codec.registerClass(): ${cls.name} is supported without registering it.`)
  }
  // Only own enumerable properties are stored: a Map's entries, a Date's time or an array's length would be lost.
  const base = slotBuiltinBase(cls)
  if (base !== undefined) {
    throw new ConfigError(
      'class',
      `codec.registerClass(): ${cls.name || name} extends ${base.name}, whose contents are not properties and would not be stored; add it with codec.register({ name, isApplicable, serialize, deserialize }) instead.`,
    )
  }
  return name
}
