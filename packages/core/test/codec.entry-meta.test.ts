import { describe, expect, it } from '@jest/globals'
import { createCodec, type Entry, type EntryMeta } from '@memokit/core'
import fc from 'fast-check'
import { codecError } from './codec-compare'

const codec = createCodec()
const createdAt = 1_763_700_000_000

describe('entry metadata', () => {
  it.each<[string, Record<string, unknown>]>([
    ['the promise flag', { promise: true }],
    ['an empty object', {}],
    ['nested JSON values', { a: [1, 'two', null, false, { b: -1.5e-7 }], c: { d: [] } }],
    ['commas, quotes and the codec tags', { 'a,b': 'e1,2,j1;', s: 's{"json":1};', m: 'm1,,2,{}j1;' }],
    ['non-ASCII and lone surrogates', { name: 'ü😀', odd: 'a\ud800b' }],
    ['a __proto__ key', JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>],
  ])('%s is stored with the entry and returned equal', (_label, meta) => {
    for (const value of [1, { at: new Date(0) }, undefined, 'x,y;']) {
      const entry = { value, createdAt, expiresAt: createdAt + 60_000, meta: meta as EntryMeta }
      const decoded = codec.decodeEntry(codec.encodeEntry(entry))
      expect(decoded).toStrictEqual(entry)
      expect(Object.getPrototypeOf(decoded.meta)).toBe(Object.prototype)
    }
  })

  it('an entry written without meta reads back without a meta key, and its payload is the version-1 layout', () => {
    for (const entry of [
      { value: { a: [1, 'x'] }, createdAt, expiresAt: createdAt + 60_000 },
      { value: 1, createdAt, expiresAt: undefined, meta: undefined },
    ]) {
      const payload = codec.encodeEntry(entry as Entry)
      expect(payload).toBe(`e${createdAt},${entry.expiresAt ?? ''},${codec.encode(entry.value)}`)
      const decoded = codec.decodeEntry(payload)
      expect('meta' in decoded).toBe(false)
    }
  })

  it('meta is written in its own documented layout, with an ASCII-only header', () => {
    const payload = codec.encodeEntry({
      value: 'v',
      createdAt: 5,
      expiresAt: undefined,
      meta: { promise: true, n: 'ü' } as EntryMeta,
    })
    expect(payload).toBe('m5,,29,{"promise":true,"n":"\\u00fc"}j"v";')
    expect(codec.decodeEntry('m1,2,2,{}j1;')).toStrictEqual({ value: 1, createdAt: 1, expiresAt: 2, meta: {} })
  })

  it.each<[string, unknown, RegExp]>([
    ['an array', [true], /meta must be a plain object/],
    ['null', null, /meta must be a plain object/],
    ['a string', '{"promise":true}', /meta must be a plain object/],
    ['a class instance', new (class Flags {})(), /Flags/],
    ['a Date inside', { at: new Date(0) }, /meta\["at"\]/],
    ['undefined inside', { promise: undefined }, /meta\["promise"\].*undefined/],
    ['NaN inside', { n: [Number.NaN] }, /meta\["n"\]\[0\]/],
    ['-0 inside', { n: -0 }, /meta\["n"\]/],
    ['a BigInt inside', { n: 1n }, /meta\["n"\]/],
    ['a function inside', { f: () => 1 }, /meta\["f"\]/],
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    ['a sparse array inside', { a: [1, , 2] }, /meta\["a"\]\[1\]/],
  ])('meta that is %s is a CodecError naming where, before anything is encoded', (_label, meta, message) => {
    let valueEncoded = false
    const value = {
      get probe(): number {
        valueEncoded = true
        return 1
      },
    }
    const error = codecError(() =>
      codec.encodeEntry({ value, createdAt, expiresAt: undefined, meta: meta as EntryMeta }),
    )
    expect(error.message).toMatch(message)
    expect(valueEncoded).toBe(false)
  })

  it('meta that contains itself, or is nested absurdly deep, is a CodecError', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(
      codecError(() => codec.encodeEntry({ value: 1, createdAt, expiresAt: undefined, meta: cyclic })).message,
    ).toMatch(/meta/)
    let deep: Record<string, unknown> = {}
    for (let i = 0; i < 200; i++) deep = { deep }
    codecError(() => codec.encodeEntry({ value: 1, createdAt, expiresAt: undefined, meta: deep }))
  })

  it('meta longer than 65,536 characters of JSON is a CodecError', () => {
    const meta = { text: 'x'.repeat(70_000) } as EntryMeta
    expect(codecError(() => codec.encodeEntry({ value: 1, createdAt, expiresAt: undefined, meta })).message).toMatch(
      /65,536/,
    )
  })

  it.each([
    ['no length', 'm1,,{}j1;'],
    ['a length past the end', 'm1,,9,{}j1;'],
    ['a length cutting the JSON', 'm1,,1,{}j1;'],
    ['a leading zero', 'm1,,02,{}j1;'],
    ['a negative length', 'm1,,-2,{}j1;'],
    ['an over-long length', 'm1,,99999999,{}j1;'],
    ['meta that is not an object', 'm1,,2,[]j1;'],
    ['meta that is null', 'm1,,4,nullj1;'],
    ['meta that is not JSON', 'm1,,2,{:j1;'],
    ['no value after meta', 'm1,,2,{}'],
    ['a bad time', 'm1x,,2,{}j1;'],
  ])('decodeEntry rejects a meta payload with %s', (_label, payload) => {
    codecError(() => codec.decodeEntry(payload))
  })

  it('every truncation of a meta payload is rejected, never decoded to something else', () => {
    const payload = codec.encodeEntry({ value: { a: new Date(1) }, createdAt, expiresAt: 5, meta: { promise: true } })
    for (let length = 0; length < payload.length; length++)
      codecError(() => codec.decodeEntry(payload.slice(0, length)))
  })

  it('decode (for values) refuses a meta entry payload and points to decodeEntry', () => {
    expect(codecError(() => codec.decode('m1,,2,{}j1;')).message).toMatch(/decodeEntry/)
  })
})

describe('the promise-flag shortcut of decodeEntry', () => {
  // The plain path: what JSON.parse makes of the meta JSON in the payload's header.
  // A `p` payload has no meta JSON: its meta is the tag, checked against what the `m` layout would have stored for
  // the written meta (its JSON, parsed: a null-prototype object comes back plain).
  const plainMeta = (payload: string, written: unknown): unknown => {
    if (payload.startsWith('p')) return JSON.parse(JSON.stringify(written))
    const header = /^m[^,]*,[^,]*,(\d+),/.exec(payload) as RegExpExecArray
    const start = header[0].length
    return JSON.parse(payload.slice(start, start + Number(header[1])))
  }
  const metas = fc.oneof(
    fc.constant({ promise: true }),
    fc.constant({ promise: false }),
    fc.constant({ promise: 'true' }),
    fc.constant({ promise: true, staleAt: createdAt }),
    fc.constant({ promisE: true }),
    fc.dictionary(fc.constantFrom('promise', 'p', 'staleAt'), fc.oneof(fc.boolean(), fc.integer(), fc.string())),
  )

  it('returns the same metadata as parsing it, a new object each time, whatever else the payload holds', () => {
    fc.assert(
      fc.property(metas, fc.jsonValue(), (meta, value) => {
        const payload = codec.encodeEntry({ value, createdAt, expiresAt: undefined, meta: meta as EntryMeta })
        const first = codec.decodeEntry(payload)
        expect(first.meta).toStrictEqual(plainMeta(payload, meta))
        expect(codec.decodeEntry(payload).meta).not.toBe(first.meta)
        expect(first.value).toStrictEqual(codec.decode(codec.encode(value)))
      }),
      { numRuns: 300 },
    )
  })

  it('still rejects every truncation of a payload whose meta is the promise flag', () => {
    const payload = codec.encodeEntry({ value: { a: 1 }, createdAt, expiresAt: undefined, meta: { promise: true } })
    for (let n = 0; n < payload.length; n++) codecError(() => codec.decodeEntry(payload.slice(0, n)))
  })
})

describe('the p layout: an entry whose meta is exactly { promise: true }', () => {
  it('is the m layout without the meta JSON, 19 bytes shorter', () => {
    const entry = { value: 'v', createdAt: 5, expiresAt: 9, meta: { promise: true } }
    expect(codec.encodeEntry(entry)).toBe('p5,9,j"v";')
    expect(codec.encodeEntry({ ...entry, meta: { promise: true, n: 1 } as EntryMeta })).toBe(
      'm5,9,22,{"promise":true,"n":1}j"v";',
    )
    expect(codec.encodeEntry({ ...entry, meta: { promise: false } })).toBe('m5,9,17,{"promise":false}j"v";')
  })

  it('decodes to a new { promise: true } each time; the m payloads of earlier versions still decode the same', () => {
    const compact = codec.decodeEntry('p5,,j"v";')
    expect(compact).toStrictEqual({ value: 'v', createdAt: 5, expiresAt: undefined, meta: { promise: true } })
    expect(codec.decodeEntry('p5,,j"v";').meta).not.toBe(compact.meta)
    expect(codec.decodeEntry('m5,,16,{"promise":true}j"v";')).toStrictEqual(compact)
  })

  it('is used only for exactly that meta: other shapes keep theirs through a round trip', () => {
    const proto = Object.assign(Object.create({ inherited: 1 }), { promise: true })
    for (const meta of [{ promise: true }, Object.assign(Object.create(null), { promise: true }), { promise: 1 }]) {
      const payload = codec.encodeEntry({ value: 1, createdAt: 5, expiresAt: undefined, meta: meta as EntryMeta })
      expect(codec.decodeEntry(payload).meta).toStrictEqual({ ...meta })
    }
    expect(() => codec.encodeEntry({ value: 1, createdAt: 5, expiresAt: undefined, meta: proto })).toThrow(
      /meta must be a plain object/,
    )
  })

  it('rejects every truncation, a missing header field, and refuses decode (for values)', () => {
    const payload = codec.encodeEntry({ value: { a: 1 }, createdAt, expiresAt: 7, meta: { promise: true } })
    expect(payload.startsWith('p')).toBe(true)
    for (let n = 0; n < payload.length; n++) codecError(() => codec.decodeEntry(payload.slice(0, n)))
    codecError(() => codec.decodeEntry('p5j1;'))
    expect(codecError(() => codec.decode('p5,,j1;')).message).toMatch(/decodeEntry/)
  })
})
