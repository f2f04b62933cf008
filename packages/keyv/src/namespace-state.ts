import { randomBytes } from 'node:crypto'

/**
 * The state of one namespace in generation mode, read from two Keyv keys: the version key holds a random
 * version; the marks key of that version holds the key prefixes cleared since, each with a random token, as JSON
 * `[["<token>","<keyPrefix>"],...]` (`[]` when none). Every entry key embeds the version plus the tokens of the
 * marks its key starts with, so a new version, or a new token for a prefix, moves the affected entries out of
 * reach at once.
 */
export interface NamespaceState {
  readonly version: string
  /** The marks key's value exactly as read; two states are the same when version and this are equal. */
  readonly marksRaw: string
  /** Cleared key prefixes and their tokens, in the order they were first cleared. */
  readonly marks: ReadonlyMap<string, string>
}

const TOKEN = /^[A-Za-z0-9_-]{12}$/

/** A fresh version or token: 72 random bits, base64url (never `:` or `.`, which end it). */
export function newToken(): string {
  return randomBytes(9).toString('base64url')
}

/** `raw` if it is a version, else `undefined` (absent, or written by someone else). */
export function parseVersion(raw: unknown): string | undefined {
  return typeof raw === 'string' && TOKEN.test(raw) ? raw : undefined
}

/** The state of `version` with the marks key's value `raw`; `undefined` when that is absent or not marks. */
export function parseState(version: string, raw: unknown): NamespaceState | undefined {
  if (typeof raw !== 'string') return undefined
  let list: unknown
  try {
    list = JSON.parse(raw)
  } catch {
    return undefined
  }
  if (!Array.isArray(list)) return undefined
  const marks = new Map<string, string>()
  for (const mark of list) {
    if (!Array.isArray(mark) || mark.length !== 2) return undefined
    const [token, prefix] = mark as [unknown, unknown]
    if (typeof token !== 'string' || !TOKEN.test(token) || typeof prefix !== 'string') return undefined
    marks.set(prefix, token)
  }
  return { version, marksRaw: raw, marks }
}

/** The marks key's value with `keyPrefix` (re)marked by `token`: a mark already there gets the new token. */
export function withMark(state: NamespaceState, keyPrefix: string, token: string): string {
  const marks = new Map(state.marks)
  marks.set(keyPrefix, token)
  return JSON.stringify([...marks].map(([prefix, t]) => [t, prefix]))
}

/**
 * The version part of an entry key: the version, then `.<token>` for every cleared prefix the key starts with.
 * Only base64url characters and `.`, so it never holds the `:` that ends it.
 */
export function versionPart(state: NamespaceState, key: string): string {
  let part = state.version
  for (const [prefix, token] of state.marks) if (key.startsWith(prefix)) part += `.${token}`
  return part
}
