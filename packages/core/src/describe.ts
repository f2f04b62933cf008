/*
 * How error messages name a value or a type, so that every message reads as plain English: `got undefined`,
 * `got 5`, `got "users"`, `got an array`, `an Error instance`.
 */

/** `a` or `an` before `noun`, by how an English reader would say it (`an Error`, `a URL`, `a Uint8Array`). */
export function withArticle(noun: string): string {
  // A vowel letter is usually a vowel sound, except a "you" sound (Uint8Array, URL, User); `Un` + consonant is not.
  const an = /^[aeio]/i.test(noun) || /^un[^aeiou]/i.test(noun)
  return `${an ? 'an' : 'a'} ${noun}`
}

/** The name of an object's class, or undefined for a plain or null-prototype object or one with an odd prototype. */
export function className(o: object): string | undefined {
  try {
    const proto = Object.getPrototypeOf(o) as { constructor?: unknown } | null
    if (proto === null || proto === Object.prototype) return undefined
    const ctor = proto.constructor
    if (typeof ctor === 'function' && ctor.prototype === proto && typeof ctor.name === 'string' && ctor.name !== '') {
      return ctor.name
    }
  } catch {
    // A hostile proxy or getter: the class stays unnamed.
  }
  return undefined
}

const MAX_TEXT = 60

/**
 * A short description of a (bad) value for a message: `undefined`, `null`, `5`, `NaN`, `5n`, `true`, `"users"`
 * (long strings shortened), `a symbol`, `a function`, `an array`, `an object`, `a Date`, `a Map`.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined'
    case 'string':
      return JSON.stringify(value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value)
    case 'number':
    case 'boolean':
      return String(value)
    case 'bigint':
      return `${value}n`
    case 'symbol':
      return 'a symbol'
    case 'function':
      return 'a function'
  }
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  const name = className(value as object)
  return name === undefined ? 'an object' : withArticle(name)
}
