import { randomBytes } from 'node:crypto'

/**
 * What the namespace-version key of one namespace holds, parsed. Its value is the namespace version on the first
 * line, then one line per `clear(namespace, keyPrefix)`: `["<token>","<keyPrefix>"]` (JSON, so any prefix fits
 * on one line). Every entry key embeds the version plus the tokens of the cleared prefixes its key starts with,
 * so a clear (new version, or a new token for a prefix) moves the affected entries out of reach at once.
 */
export interface NamespaceState {
  /** The value exactly as stored; two states are the same state when their raw values are equal. */
  readonly raw: string
  /** The random version of the namespace. */
  readonly version: string
  /** Cleared key prefixes and their latest token, in the order they were first cleared. */
  readonly marks: ReadonlyMap<string, string>
}

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/

/** A fresh random version or token: 72 random bits, base64url (never `:`, `.` or `~`). */
export function newToken(): string {
  return randomBytes(9).toString('base64url')
}

/** The line `clear(namespace, keyPrefix)` appends to the version key's value. */
export function markLine(keyPrefix: string, token: string): string {
  return `\n${JSON.stringify([token, keyPrefix])}`
}

/** Parses a version key's value; `undefined` when it isn't one (written by someone else, or corrupt). */
export function parseState(raw: string): NamespaceState | undefined {
  const newline = raw.indexOf('\n')
  const version = newline === -1 ? raw : raw.slice(0, newline)
  if (!TOKEN.test(version)) return undefined
  const marks = new Map<string, string>()
  if (newline !== -1) {
    for (const line of raw.slice(newline + 1).split('\n')) {
      let mark: unknown
      try {
        mark = JSON.parse(line)
      } catch {
        return undefined
      }
      if (!Array.isArray(mark) || mark.length !== 2) return undefined
      const [token, prefix] = mark as [unknown, unknown]
      if (typeof token !== 'string' || !TOKEN.test(token) || typeof prefix !== 'string') return undefined
      marks.set(prefix, token)
    }
  }
  return { raw, version, marks }
}

/**
 * The version part of an entry key: the namespace version, then `.<token>` for every cleared prefix the key
 * starts with. Only base64url characters and `.`, so it never holds the `:` that ends it.
 */
export function versionPart(state: NamespaceState, key: string): string {
  let part = state.version
  for (const [prefix, token] of state.marks) if (key.startsWith(prefix)) part += `.${token}`
  return part
}
