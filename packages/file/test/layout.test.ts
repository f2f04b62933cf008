import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { encodeDirName, fileKind, formatFile, keyFileName, parseFile } from '../src/layout'

const SAFE_NAME = /^[eh]-[a-z0-9_-]*$/

// The inverse of the escaped form: that it exists is what makes the encoding injective.
const decodeEscaped = (name: string): string =>
  name.slice(2).replace(/_([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))

describe('encodeDirName', () => {
  it('is injective, lowercase-only and file-system safe for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const ea = encodeDirName(a)
        const eb = encodeDirName(b)
        expect(ea).toMatch(SAFE_NAME)
        // Lowercase only: a case-insensitive file system folds nothing, so distinct names stay distinct.
        expect(ea.toLowerCase()).toBe(ea)
        expect(ea.length).toBeLessThanOrEqual(200)
        if (ea.startsWith('e-')) expect(decodeEscaped(ea)).toBe(a)
        if (a !== b) expect(ea).not.toBe(eb)
      }),
      { numRuns: 500 },
    )
  })

  it('keeps near-identical and case-different names apart', () => {
    const names = ['user', 'User', 'USER', 'users', 'user:x', 'user_003ax', 'user\\x', '', '.', '..', 'con', 'a*', 'ab']
    const encoded = names.map(encodeDirName)
    expect(new Set(encoded).size).toBe(names.length)
    expect(new Set(encoded.map((n) => n.toLowerCase())).size).toBe(names.length)
    expect(encodeDirName('users')).toBe('e-users')
    expect(encodeDirName('user:x')).toBe('e-user_003ax')
  })

  it('keeps lone surrogates distinct (no UTF-8 replacement character merging)', () => {
    expect(encodeDirName('\ud800')).not.toBe(encodeDirName('\ufffd'))
    const long = 'x'.repeat(500)
    expect(encodeDirName(`${long}\ud800`)).not.toBe(encodeDirName(`${long}\ufffd`))
  })

  it('hashes long names', () => {
    expect(encodeDirName('a'.repeat(1000))).toMatch(/^h-[0-9a-f]{64}$/)
    expect(encodeDirName('a'.repeat(1000))).not.toBe(encodeDirName('a'.repeat(1001)))
  })
})

describe('entry files', () => {
  it('names entries by lowercase SHA-256 hex of the key', () => {
    expect(keyFileName('fn:[1]')).toMatch(/^[0-9a-f]{64}$/)
    expect(keyFileName('Ab')).not.toBe(keyFileName('aB'))
    expect(fileKind(keyFileName('k'))).toBe('entry')
    expect(fileKind(`${keyFileName('k')}.abc.tmp`)).toBe('temp')
    expect(fileKind(`${keyFileName('k')}.lock`)).toBe('lock')
    expect(fileKind('README')).toBe('other')
  })

  it('parses back exactly what it formats', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        fc.option(fc.integer({ min: 0, max: 2 ** 50 }), { nil: undefined }),
        fc.string({ unit: 'binary' }),
        (prefix, namespace, key, expiresAt, payload) => {
          expect(parseFile(formatFile(prefix, namespace, key, expiresAt, payload))).toEqual({
            prefix,
            namespace,
            key,
            expiresAt,
            payload,
          })
        },
      ),
    )
  })

  it('throws a CodecError for anything that is not a whole header', () => {
    const text = formatFile('p', 'n', 'k', 5, 'payload')
    const headerEnd = text.indexOf('\n', 5)
    for (let cut = 0; cut <= headerEnd; cut++) {
      expect(() => parseFile(text.slice(0, cut))).toThrow(expect.objectContaining({ code: 'E_CODEC' }))
    }
    expect(() => parseFile('MKF1\n{"not":"an array"}\nx')).toThrow(expect.objectContaining({ code: 'E_CODEC' }))
    expect(() => parseFile('MKF1\n["p","n","k","soon"]\nx')).toThrow(expect.objectContaining({ code: 'E_CODEC' }))
  })
})
