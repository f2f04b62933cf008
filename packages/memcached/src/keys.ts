import { createHash } from 'node:crypto'
import { escapeKeyPart } from '@memokit/core'
import { type NamespaceState, versionPart } from './namespace-state'

/** memcached's longest key, in bytes. */
export const MAX_KEY_BYTES = 250

const HASH_TAG = 0x23 // '#'

/**
 * The UTF-8 length of `text` when memcached takes it as (part of) a key unchanged within `budget` bytes: no space,
 * no control character (C0, DEL, C1) and no lone surrogate (UTF-8 would turn every lone surrogate into the same
 * U+FFFD, so two different keys could meet on one memcached key); otherwise -1.
 */
export function safeKeyBytes(text: string, budget: number): number {
  // Every UTF-16 code unit needs at least one byte, so longer strings can't fit.
  if (text.length > budget) return -1
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c <= 0x20 || (c >= 0x7f && c <= 0x9f)) return -1
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1)
      if (!(next >= 0xdc00 && next <= 0xdfff)) return -1
      bytes += 4
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1
    else bytes += 3
  }
  return bytes <= budget ? bytes : -1
}

/** True when memcached takes `text` as a key unchanged: at most 250 bytes of UTF-8 that {@link safeKeyBytes} accepts. */
export function isSafeKey(text: string): boolean {
  return safeKeyBytes(text, MAX_KEY_BYTES) >= 0
}

/**
 * Maps a logical key `${escapedPrefix}:${rest}` onto a memcached key, injectively. Safe keys pass unchanged; other
 * keys become `${escapedPrefix}:#${base64url(sha256(key))}` (never truncated). Logical keys whose `rest` starts with
 * `#` are hashed too, so an unhashed key can never look like a hashed one. The hash reads the UTF-16 code units,
 * which, unlike UTF-8, tells lone surrogates apart.
 */
export function toMemcachedKey(logical: string, escapedPrefix: string): string {
  if (logical.charCodeAt(escapedPrefix.length + 1) !== HASH_TAG && isSafeKey(logical)) return logical
  return `${escapedPrefix}:#${createHash('sha256').update(logical, 'utf16le').digest('base64url')}`
}

/**
 * The fixed start of many logical keys (`<prefix>:<ns>:<version>:`, ending in an ASCII `:`), checked once, so each
 * key's check scans only what follows it: scanning the whole 60-odd characters of every hit's key, a string built
 * by concatenation, cost 2.1k instructions per read (callgrind, bench/HISTORY.md).
 */
export interface KeyHead {
  readonly text: string
  readonly escapedPrefix: string
  /** The bytes left for the rest of a key that stays unhashed; -1 when every key under this head is hashed. */
  readonly budget: number
}

/** `text` as a {@link KeyHead} of the keys of a storage whose keys start with `escapedPrefix`. */
export function keyHead(text: string, escapedPrefix: string): KeyHead {
  // The hashed form's `#` must come right after the prefix's `:`, inside the head, or the head tells nothing.
  const fits = text.length > escapedPrefix.length + 1 && text.charCodeAt(text.length - 1) === 0x3a
  const bytes = !fits || text.charCodeAt(escapedPrefix.length + 1) === HASH_TAG ? -1 : safeKeyBytes(text, MAX_KEY_BYTES)
  return { text, escapedPrefix, budget: bytes < 0 ? -1 : MAX_KEY_BYTES - bytes }
}

/** `toMemcachedKey(head.text + rest, head.escapedPrefix)`, scanning only `rest` (keys.test.ts holds them equal). */
export function memcachedKeyAfter(head: KeyHead, rest: string): string {
  if (head.budget >= 0 && safeKeyBytes(rest, head.budget) >= 0) return head.text + rest
  return toMemcachedKey(head.text + rest, head.escapedPrefix)
}

/** The memcached keys of one storage's namespaces, under their versions (versioned.ts keeps the versions). */
export interface KeySpace {
  /** The memcached key holding the namespace's state. */
  versionKey(ns: string): string
  /** `<prefix>:<ns>:<version>:<key>`. */
  entryKey(ns: string, state: NamespaceState, key: string): string
  /** `<prefix>:<ns>:<version>~lease:<key>`: `~` never occurs in a version, so no entry key is ever a lease key. */
  leaseKey(ns: string, state: NamespaceState, key: string): string
}

/** The key space of a storage whose keys start with `escapedPrefix`. */
export function createKeySpace(escapedPrefix: string): KeySpace {
  // The head of the last namespace state's entry keys (without cleared prefixes, its version part is the same for
  // every key): built and checked once per state, not per read.
  let headNs: string | undefined
  let headState: NamespaceState | undefined
  let head: KeyHead | undefined
  return {
    versionKey: (ns) => toMemcachedKey(`${escapedPrefix}:${escapeKeyPart(ns)}:~version`, escapedPrefix),
    entryKey(ns, state, key) {
      if (state.marks.size > 0) {
        return toMemcachedKey(`${escapedPrefix}:${escapeKeyPart(ns)}:${versionPart(state, key)}:${key}`, escapedPrefix)
      }
      if (head === undefined || ns !== headNs || state !== headState) {
        head = keyHead(`${escapedPrefix}:${escapeKeyPart(ns)}:${state.version}:`, escapedPrefix)
        headNs = ns
        headState = state
      }
      return memcachedKeyAfter(head, key)
    },
    leaseKey: (ns, state, key) =>
      toMemcachedKey(`${escapedPrefix}:${escapeKeyPart(ns)}:${versionPart(state, key)}~lease:${key}`, escapedPrefix),
  }
}
