// Differential test of a hit's meta fast path: `decodeDocument` reads the meta of an async function's entry,
// `{"promise":true}`, without JSON.parse. Whatever text field `m` holds, the entry must be what the plain path (parse
// the JSON, accept only an object) gives, and a CodecError exactly when the plain path refuses it. No server.
import { describe, expect, it } from '@jest/globals'
import { CodecError, createCodec, type Entry } from '@memokit/core'
import fc from 'fast-check'
import { decodeDocument } from '../src/documents'

const codec = createCodec()
const createdAt = 1_763_700_000_000
const document = (m: unknown) => ({ v: codec.encode({ id: 1 }), m, c: new Date(createdAt) })

/** The plain path: the entry with `m` parsed as JSON, or 'corrupt' when that is no JSON object. */
function plain(m: string): Entry | 'corrupt' {
  let meta: unknown
  try {
    meta = JSON.parse(m)
  } catch {
    return 'corrupt'
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return 'corrupt'
  return { value: { id: 1 }, createdAt, expiresAt: undefined, meta: meta as Entry['meta'] }
}

function decoded(m: string): Entry | 'corrupt' {
  try {
    const entry = decodeDocument(document(m), codec)
    if (entry === undefined) throw new Error('a live document decoded as a miss')
    return entry
  } catch (error) {
    if (error instanceof CodecError) return 'corrupt'
    throw error
  }
}

// Texts around the fast path's literal: itself, its near misses, and other JSON objects and non-objects.
const PROMISE = '{"promise":true}'
const nearMisses = [
  PROMISE,
  '{"promise": true}',
  '{"promise":true }',
  ' {"promise":true}',
  '{"promise":false}',
  '{"promise":"true"}',
  '{"promise":true,"promise":false}',
  '{"promise":true,"at":1}',
  '{"promise":1}',
  '{"promise":true',
  '{"promise":true}}',
  '["promise",true]',
  'true',
  '{}',
]
const metaText = fc.oneof(
  fc.constantFrom(...nearMisses),
  fc.dictionary(fc.string(), fc.jsonValue()).map((meta) => JSON.stringify(meta)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc
    .tuple(fc.constantFrom(...nearMisses), fc.nat(20), fc.string({ maxLength: 3 }))
    .map(([text, at, insert]) => text.slice(0, at) + insert + text.slice(at)),
)

describe('decodeDocument meta', () => {
  it('agrees with parsing m as JSON for any text, including every near miss of the fast-path literal', () => {
    for (const m of nearMisses) expect(decoded(m)).toStrictEqual(plain(m))
    fc.assert(
      fc.property(metaText, (m) => {
        expect(decoded(m)).toStrictEqual(plain(m))
      }),
      { numRuns: 2000 },
    )
  })

  it('returns a new meta object on every read of the promise meta, as JSON.parse does', () => {
    const first = decodeDocument(document(PROMISE), codec)
    const second = decodeDocument(document(PROMISE), codec)
    expect(first?.meta).toStrictEqual({ promise: true })
    expect(first?.meta).not.toBe(second?.meta)
    expect(Object.getPrototypeOf(first?.meta)).toBe(Object.prototype)
  })

  it('keeps the entry without a meta key when m is absent or null', () => {
    for (const m of [undefined, null]) {
      const entry = decodeDocument(document(m), codec)
      expect(entry).toStrictEqual({ value: { id: 1 }, createdAt, expiresAt: undefined })
      expect(entry !== undefined && 'meta' in entry).toBe(false)
    }
  })
})
