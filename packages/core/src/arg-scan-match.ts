/*
 * `matchesKey`: whether the key encoder, given the arguments of the last scan, would return a given key. It writes
 * the encoder's text for the scan's tokens out in its head instead of building it. The scan that records the tokens
 * is in arg-scan.ts; this module only reads them (as the table of recent hits in arg-scan-recent.ts does), so it
 * stands apart and arg-scan.ts holds the scan alone.
 */
import {
  BIGINT,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  FALSE,
  HOLE,
  KEY,
  kinds,
  NULL,
  NUMBER,
  OPEN_ARRAY,
  OPEN_OBJECT,
  STRING,
  state,
  TRUE,
  values,
} from './arg-scan'
import { MAX_READABLE, needsEscape, numberText, quote } from './keys'

/** Where `quote(s)` ends if `key` has it at `pos`, else -1 (the common case without building it). */
function quotedEnd(key: string, pos: number, s: string): number {
  if (needsEscape(s)) {
    const text = quote(s)
    return key.startsWith(text, pos) ? pos + text.length : -1
  }
  const end = pos + 1 + s.length
  return key.charCodeAt(pos) === 34 && key.startsWith(s, pos + 1) && key.charCodeAt(end) === 34 ? end + 1 : -1
}

/** The key encoder's text for a token other than a string or property name (not the commas between values). */
function tokenText(kind: number, v: unknown): string {
  switch (kind) {
    case NUMBER:
      return numberText(v as number)
    case BIGINT:
      return `${v as bigint}n`
    case OPEN_ARRAY:
      return '['
    case CLOSE_ARRAY:
      return ']'
    case OPEN_OBJECT:
      return '{'
    case CLOSE_OBJECT:
      return '}'
    case HOLE:
      return '_'
    case TRUE:
      return 'true'
    case FALSE:
      return 'false'
    case NULL:
      return 'null'
    default:
      return 'undefined'
  }
}

/**
 * True exactly when the key encoder, given the arguments of the last successful `scanArgs`, returns `key`.
 * `start` is what the encoder writes before the first argument (the escaped function name, `:` and `[`).
 */
export function matchesKey(key: string, start: string): boolean {
  // The encoder replaces longer encodings (all but the function name and `:`) by a digest.
  if (key.length - start.length + 1 > MAX_READABLE || !key.startsWith(start)) return false
  let pos = start.length
  // Commas go between the values of an array or the argument list, and between an object's properties.
  let first = true
  let inObject = false
  const outer: boolean[] = []
  for (let i = 0; i < state.count; i++) {
    const kind = kinds[i] as number
    if (kind === CLOSE_ARRAY || kind === CLOSE_OBJECT) {
      inObject = outer.pop() as boolean
      first = outer.pop() as boolean
    } else if (kind === KEY || !inObject) {
      if (!first) {
        if (key.charCodeAt(pos) !== 44) return false
        pos++
      }
      first = false
    }
    if (kind === STRING || kind === KEY) {
      pos = quotedEnd(key, pos, values[i] as string)
      if (pos === -1 || (kind === KEY && key.charCodeAt(pos++) !== 58)) return false
    } else {
      const text = tokenText(kind, values[i])
      if (!key.startsWith(text, pos)) return false
      pos += text.length
    }
    if (kind === OPEN_ARRAY || kind === OPEN_OBJECT) {
      outer.push(first, inObject)
      first = true
      inObject = kind === OPEN_OBJECT
    }
  }
  return pos === key.length - 1 && key.charCodeAt(pos) === 93
}
