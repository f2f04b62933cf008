import { createHash } from 'node:crypto'

/** memcached's longest key, in bytes. */
export const MAX_KEY_BYTES = 250

const HASH_TAG = 0x23 // '#'

/**
 * True when memcached takes `text` as a key unchanged: at most 250 bytes of UTF-8, no space, no control
 * character (C0, DEL, C1) and no lone surrogate (UTF-8 would turn every lone surrogate into the same U+FFFD, so
 * two different keys could meet on one memcached key).
 */
export function isSafeKey(text: string): boolean {
  // Every UTF-16 code unit needs at least one byte, so longer strings can't fit.
  if (text.length > MAX_KEY_BYTES) return false
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c <= 0x20 || (c >= 0x7f && c <= 0x9f)) return false
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1)
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false
      bytes += 4
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) return false
    else bytes += 3
  }
  return bytes <= MAX_KEY_BYTES
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
