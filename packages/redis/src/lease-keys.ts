// The physical key of an entry's lease: the entry's key, then the byte 0xFF, then (only when the key has no hash
// tag) a few bytes that give it the entry's cluster slot.
//
// Why this layout, with the entry layout `<prefix>:<namespace>:<key>` (key unescaped) as it is:
// - Never an entry's key: every entry key is valid UTF-8 (lone surrogates are refused), and 0xFF never occurs in
//   UTF-8. So no entry key, and no namespace or key prefix, can contain it: the first 0xFF ends the entry's key,
//   which makes the layout injective too.
// - Cleared exactly with its entry: `clear(ns, p)` matches `<prefix>:<ns>:<p>*`. The lease key starts with the
//   entry key, so it matches whenever the entry does; and it matches no other `p`, because a `p` that runs past the
//   entry key would have to continue with 0xFF, which no string's UTF-8 does.
// - One slot with its entry on a Cluster (so a script can touch both): appending bytes keeps a key's hash tag, if it
//   has one. A key without a tag is hashed whole, so the appended bytes end with two that bring the CRC16 back to the
//   entry's (CRC16 is linear: for any register value, exactly one 2-byte suffix reaches a given CRC). They must not
//   contain '}', which could close a '{' of the key into a tag; should they, one more 0xFF gives other ones.
import { crc16, hashTag } from './slots'

/** The byte after an entry's key in its lease key: no UTF-8 text contains it. */
export const LEASE_MARK = 0xff
const MARK_BYTE = Buffer.of(LEASE_MARK)
const CLOSE_BRACE = 0x7d
// CRC16/XMODEM's polynomial without its x^16 term.
const POLY = 0x1021

// Feeding two zero bytes into the CRC register multiplies it by x^16 modulo the polynomial; this divides by x^16,
// undoing that. (Dividing by x: an odd value first gets the polynomial added, which clears bit 0 and carries x^16
// down to x^15.)
function divideByX16(value: number): number {
  let v = value
  for (let i = 0; i < 16; i++) v = v & 1 ? ((v ^ POLY) >>> 1) | 0x8000 : v >>> 1
  return v
}

/**
 * The lease key of the entry key `entryKey` (as memokit passes it to the client, without the client's
 * `keyPrefix`), as bytes to send. `clientPrefix` is the client's keyPrefix, which the slot is computed with.
 */
export function leaseKey(entryKey: string, clientPrefix: string): Buffer {
  const entryLength = Buffer.byteLength(entryKey, 'utf8')
  const sent = Buffer.from(clientPrefix + entryKey, 'utf8')
  if (hashTag(sent) !== undefined) return withSuffix(entryKey, entryLength, 1)
  const crc = crc16(sent, 0, sent.length)
  // The register value that two more bytes must turn into `crc`: feeding bytes b1 b2 into register r gives what
  // feeding two zero bytes into r ^ (b1 << 8 | b2) gives.
  const before = divideByX16(crc)
  let register = crc
  for (let marks = 1; ; marks++) {
    register = crc16(MARK_BYTE, 0, 1, register)
    const fix = register ^ before
    const high = fix >>> 8
    const low = fix & 0xff
    if (high !== CLOSE_BRACE && low !== CLOSE_BRACE) {
      const key = withSuffix(entryKey, entryLength, marks + 2)
      key[entryLength + marks] = high
      key[entryLength + marks + 1] = low
      return key
    }
  }
}

// The entry key's bytes followed by `length` bytes of LEASE_MARK.
function withSuffix(entryKey: string, entryLength: number, length: number): Buffer {
  const key = Buffer.allocUnsafe(entryLength + length)
  key.write(entryKey, 0, 'utf8')
  return key.fill(LEASE_MARK, entryLength)
}
