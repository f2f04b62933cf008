/*
 * The text of the key encoder's leaves: numbers, strings and object keys. Shared with the argument scan
 * (arg-scan.ts), which must write exactly what the encoder writes.
 */

/** Encodings up to this many UTF-16 code units stay readable in the key; longer ones are replaced by a digest. */
export const MAX_READABLE = 200

/** A number's text in keys: `-0` kept apart from `0`, every other number as `String(n)` (NaN is stable). */
export const numberText = (n: number): string => (n === 0 && 1 / n < 0 ? '-0' : `${n}`)

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON must escape
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/**
 * Exactly `JSON.stringify(s)`, fast when nothing needs escaping. Lone surrogates are escaped so the key is
 * well-formed Unicode: storages that hold UTF-8 would otherwise turn different lone surrogates into the same U+FFFD.
 */
export function quote(s: string): string {
  return needsEscape(s) ? JSON.stringify(s) : `"${s}"`
}

/** Whether JSON writes `s` other than as `"${s}"`: a quote, backslash, control character or surrogate in it. */
export function needsEscape(s: string): boolean {
  const n = s.length
  if (n < 32) {
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true
    }
    return false
  }
  return NEEDS_ESCAPE.test(s)
}

// Object keys repeat from call to call, so their encoded forms (`"k":` and `,"k":`) are remembered: fewer string
// concatenations is what makes encoding fast. Bounded, and only short keys, so memory stays small.
const firstKeys = new Map<string, string>()
const nextKeys = new Map<string, string>()
const MAX_REMEMBERED_KEYS = 2048

/** `"k":`, the first property of an object. */
export function firstKey(k: string): string {
  let q = firstKeys.get(k)
  if (q === undefined) {
    q = `${quote(k)}:`
    if (k.length <= 64 && firstKeys.size < MAX_REMEMBERED_KEYS) firstKeys.set(k, q)
  }
  return q
}

/** `,"k":`, every later property of an object. */
export function nextKey(k: string): string {
  let q = nextKeys.get(k)
  if (q === undefined) {
    q = `,${quote(k)}:`
    if (k.length <= 64 && nextKeys.size < MAX_REMEMBERED_KEYS) nextKeys.set(k, q)
  }
  return q
}
