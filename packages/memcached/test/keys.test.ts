import { describe, expect, it } from '@jest/globals'
import { escapeKeyPart } from '@memokit/core'
import fc from 'fast-check'
import { isSafeKey, keyHead, MAX_KEY_BYTES, memcachedKeyAfter, toMemcachedKey } from '../src/keys'
import { markLine, newToken, parseState, versionPart } from '../src/namespace-state'

const P = 'mk'
const logical = (rest: string): string => `${P}:${rest}`
const HASHED = /^mk:#[A-Za-z0-9_-]{43}$/

describe('memcached keys', () => {
  it('keeps short, safe keys as they are', () => {
    for (const rest of ['ns:v:fn:args', 'a*b?[c]', 'ü:日本:😀', '%3A%25', 'x'.repeat(MAX_KEY_BYTES - 3)]) {
      expect(toMemcachedKey(logical(rest), P)).toBe(logical(rest))
    }
  })

  it('counts bytes in UTF-8: 250 bytes pass, 251 are hashed', () => {
    const ascii = logical('x'.repeat(MAX_KEY_BYTES - 3))
    expect(Buffer.byteLength(ascii)).toBe(250)
    expect(toMemcachedKey(ascii, P)).toBe(ascii)
    expect(toMemcachedKey(`${ascii}y`, P)).toMatch(HASHED)
    // 3 + 2 * 123 = 249 bytes in 126 characters; one more é makes 251.
    const twoByte = logical('é'.repeat(123))
    expect(Buffer.byteLength(twoByte)).toBe(249)
    expect(toMemcachedKey(twoByte, P)).toBe(twoByte)
    expect(toMemcachedKey(`${twoByte}é`, P)).toMatch(HASHED)
    const fourByte = logical('😀'.repeat(61)) // 3 + 244 = 247 bytes, 125 UTF-16 units
    expect(toMemcachedKey(fourByte, P)).toBe(fourByte)
    expect(toMemcachedKey(`${fourByte}😀`, P)).toMatch(HASHED)
    const threeByte = logical('日'.repeat(83)) // 3 + 249 = 252 bytes in 86 characters
    expect(toMemcachedKey(threeByte, P)).toMatch(HASHED)
  })

  it('hashes keys with spaces, control characters or lone surrogates', () => {
    for (const bad of [
      ' ',
      'a b',
      '\t',
      '\n',
      '\r\n',
      '\u0000',
      '\u007f',
      '\u0085',
      '\u009f',
      '\uD800',
      'x\uDC00',
      '\uDBFFx',
    ]) {
      expect(toMemcachedKey(logical(`ns:${bad}`), P)).toMatch(HASHED)
    }
    // Lone surrogates all become U+FFFD in UTF-8; the hashes must still differ.
    expect(toMemcachedKey(logical('\uD800'), P)).not.toBe(toMemcachedKey(logical('\uD801'), P))
  })

  it('never truncates: long keys that differ only at the end stay apart', () => {
    const base = 'k'.repeat(5000)
    expect(toMemcachedKey(logical(`${base}a`), P)).not.toBe(toMemcachedKey(logical(`${base}b`), P))
  })

  it('hashes a key that looks like a hashed key, so it cannot meet the key it imitates', () => {
    const hashed = toMemcachedKey(logical('x'.repeat(400)), P)
    expect(hashed).toMatch(HASHED)
    expect(toMemcachedKey(hashed, P)).not.toBe(hashed)
    expect(toMemcachedKey(hashed, P)).toMatch(HASHED)
    expect(toMemcachedKey(logical('#short'), P)).toMatch(HASHED)
  })

  it('is injective and always yields keys memcached accepts (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        (a, b) => {
          const ka = toMemcachedKey(logical(a), P)
          const kb = toMemcachedKey(logical(b), P)
          expect(isSafeKey(ka)).toBe(true)
          if (a !== b) expect(ka).not.toBe(kb)
        },
      ),
      { numRuns: 2000 },
    )
  })

  // The hit path's key (versioned.ts): the head `<prefix>:<ns>:<version>:` checked once, then only the rest.
  it('builds the same key from a checked head and a rest as from the whole logical key (differential property)', () => {
    // Short strings of characters near every boundary the check cares about, and long runs to cross 250 bytes.
    const piece = fc.oneof(
      fc.string({
        unit: fc.constantFrom('a', ' ', '#', ':', '%', '\u007f', '\u0085', 'é', '日', '😀', '\ud800', '\udc00'),
        maxLength: 8,
      }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.integer({ min: 0, max: 260 }).map((n) => 'x'.repeat(n)),
    )
    fc.assert(
      fc.property(piece, piece, fc.constantFrom('V1', 'a_b-C', 'x'.repeat(64)), piece, (prefix, ns, version, rest) => {
        const escapedPrefix = escapeKeyPart(prefix)
        const text = `${escapedPrefix}:${escapeKeyPart(ns)}:${version}:`
        expect(memcachedKeyAfter(keyHead(text, escapedPrefix), rest)).toBe(
          toMemcachedKey(`${text}${rest}`, escapedPrefix),
        )
      }),
      { numRuns: 5000 },
    )
  })
})

describe('namespace state (the value of a namespace-version key)', () => {
  it('reads a bare version and rejects values that are not versions', () => {
    const v = newToken()
    expect(v).toMatch(/^[A-Za-z0-9_-]{12}$/)
    expect(parseState(v)).toEqual({ raw: v, version: v, marks: new Map() })
    for (const bad of ['', 'a:b', 'a b', 'x.y', `${v}\nnot json`, `${v}\n["tok"]`, `${v}\n["bad token!","p"]`]) {
      expect(parseState(bad)).toBeUndefined()
    }
  })

  it('adds the token of every cleared prefix a key starts with, the latest token per prefix', () => {
    const raw = `V1${markLine('fn:', 'T1')}${markLine('fn:a:', 'T2')}${markLine('fn:', 'T3')}${markLine('x\n|"', 'T4')}`
    const state = parseState(raw)
    expect(state?.marks).toEqual(
      new Map([
        ['fn:', 'T3'],
        ['fn:a:', 'T2'],
        ['x\n|"', 'T4'],
      ]),
    )
    if (state === undefined) return
    expect(versionPart(state, 'fn:a:1')).toBe('V1.T3.T2')
    expect(versionPart(state, 'fn:b:1')).toBe('V1.T3')
    expect(versionPart(state, 'fnx:1')).toBe('V1')
    expect(versionPart(state, 'x\n|"y')).toBe('V1.T4')
  })
})
