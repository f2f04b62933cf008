import { describe, expect, it } from '@jest/globals'
import { createCodec } from '@memokit/core'
import { assertSameValue, codecError } from './codec-compare'

// Values whose parts occur more than once (the same object, or equal BigInts) once came back garbled: superjson's
// reference de-duplication wrote null placeholders into Map keys, Set items and class fields and restored them by
// position. Each test here failed on that code.

class Account {
  constructor(
    public balance: unknown,
    public limit: unknown,
  ) {}
}

/** Encodes and decodes `value` as a value and as an entry, and checks both come back equal, in the same order. */
function expectRoundTrip(value: unknown, codec = createCodec()): void {
  assertSameValue(codec.decode(codec.encode(value)), value)
  const entry = codec.decodeEntry(codec.encodeEntry({ value, createdAt: 1_763_700_000_000, expiresAt: undefined }))
  assertSameValue(entry.value, value)
}

describe('repeated parts round-trip unchanged', () => {
  it('a Map whose BigInt keys also occur in an array keeps every key and value', () => {
    const value = {
      ids: [1n, 2n],
      names: new Map([
        [1n, 'alice'],
        [2n, 'bob'],
      ]),
    }
    expectRoundTrip(value)
    const decoded = createCodec().decode(createCodec().encode(value)) as typeof value
    expect([...decoded.names]).toEqual([
      [1n, 'alice'],
      [2n, 'bob'],
    ])
  })

  it('a Map keyed by objects that also occur in an array keeps each key with its own value', () => {
    const a = { id: 'a' }
    const b = { id: 'b' }
    const value = {
      users: [a, b],
      roles: new Map([
        [a, 'admin'],
        [b, 'viewer'],
      ]),
    }
    expectRoundTrip(value)
    const decoded = createCodec().decode(createCodec().encode(value)) as typeof value
    expect([...decoded.roles].map(([user, role]) => [user.id, role])).toEqual([
      ['a', 'admin'],
      ['b', 'viewer'],
    ])
  })

  it('a Set keeps its null next to an item that also occurs elsewhere', () => {
    expectRoundTrip({ first: 1n, set: new Set([null, 1n, 2]) })
    const shared = { k: 1 }
    expectRoundTrip([shared, new Set([shared, null, 'x'])])
  })

  it('a Set keeps its order when an item also occurs elsewhere', () => {
    const shared = { k: 1 }
    expectRoundTrip({ a: shared, set: new Set([1, shared, 2]) })
    expectRoundTrip({ a: 5n, set: new Set([1, 5n, 2, 7n]), b: 7n })
  })

  it('a Map value and a Map key that are the same object', () => {
    const shared = { k: 1 }
    expectRoundTrip(new Map<unknown, unknown>([[shared, shared]]))
    expectRoundTrip(
      new Map<unknown, unknown>([
        ['x', shared],
        [shared, 'y'],
        ['z', [shared]],
      ]),
    )
  })

  it('a registered class with two fields holding equal BigInts, the same Date or the same object', () => {
    const codec = createCodec().registerClass(Account)
    expectRoundTrip(new Account(10n, 10n), codec)
    const when = new Date(5)
    expectRoundTrip(new Account(when, when), codec)
    const shared = { currency: 'EUR' }
    expectRoundTrip(new Account(shared, [shared]), codec)
    expectRoundTrip([shared, new Account(shared, new Map([[shared, 1n]]))], codec)
    const decoded = codec.decode(codec.encode(new Account(10n, 10n))) as Account
    expect(decoded).toBeInstanceOf(Account)
    expect(decoded.limit).toBe(10n)
  })

  it('a custom type instance used twice', () => {
    class Money {
      constructor(readonly cents: bigint) {}
    }
    const codec = createCodec().register<Money, string>({
      name: 'Money',
      isApplicable: (v): v is Money => v instanceof Money,
      serialize: (m) => m.cents.toString(),
      deserialize: (s) => new Money(BigInt(s)),
    })
    const price = new Money(1999n)
    expectRoundTrip({ price, again: price, set: new Set([price, null]), map: new Map([[price, price]]) }, codec)
  })

  it('shared parts inside an Error, a sparse array and an object with a __proto__ key', () => {
    const shared = { a: 1n }
    expectRoundTrip(Object.assign(new Error('x'), { data: { k: shared, j: shared, s: new Set([shared, null]) } }))
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expectRoundTrip([shared, new Map([[shared, [shared, , shared]]])])
    const unsafe = JSON.parse('{"__proto__": 1}') as Record<string, unknown>
    unsafe.x = shared
    expectRoundTrip([shared, unsafe, new Set([shared])])
  })

  it('a shared object comes back as equal copies, not as one object (documented)', () => {
    const shared = { d: new Date(5) }
    const codec = createCodec()
    const decoded = codec.decode(codec.encode({ a: shared, b: shared })) as { a: unknown; b: unknown }
    expect(decoded.a).toEqual(shared)
    expect(decoded.b).toEqual(shared)
    expect(decoded.a).not.toBe(decoded.b)
  })
})

describe('cycles throw a CodecError naming where the value contains itself', () => {
  const self = <T extends object>(make: (me: T) => void, value: T): T => {
    make(value)
    return value
  }
  it.each<[string, () => unknown, string]>([
    ['an object property', () => self<Record<string, unknown>>((o) => (o.me = o), { a: new Date(0) }), 'value["me"]'],
    ['a plain-JSON object', () => self<Record<string, unknown>>((o) => (o.me = [o]), { a: 1 }), 'value["me"][0]'],
    ['an array item', () => self<unknown[]>((a) => a.push(a), [1n]), 'value[1]'],
    ['a Map key', () => self<Map<unknown, unknown>>((m) => m.set(m, 1), new Map()), 'value<Map key #0>'],
    ['a Map value', () => self<Map<unknown, unknown>>((m) => m.set('k', { m }), new Map()), 'value<Map value #0>["m"]'],
    ['a Set item', () => self<Set<unknown>>((s) => s.add(s), new Set([null])), 'value<Set item #1>'],
    ['a registered class field', () => self<Account>((a) => (a.limit = a), new Account(1n, 0)), 'value["limit"]'],
    [
      'a reference back to the root from inside a shared object',
      () => {
        const user: Record<string, unknown> = { name: 'ann' }
        const post = { author: user }
        user.posts = [post]
        user.featured = post
        return user
      },
      'value["posts"][0]["author"]',
    ],
  ])('through %s', (_label, make, path) => {
    const codec = createCodec().registerClass(Account)
    const error = codecError(() => codec.encode(make()))
    expect(error.message).toContain('cycle')
    expect(error.message).toContain(path)
    codecError(() => codec.encodeEntry({ value: make(), createdAt: 1, expiresAt: undefined }))
  })

  it('a cycle inside an Error cause', () => {
    const data: Record<string, unknown> = {}
    data.again = data
    const error = codecError(() => createCodec().encode(new Error('x', { cause: data })))
    expect(error.message).toContain('cycle')
  })
})

describe('values built to share more than they hold', () => {
  it('a tree whose levels reference the level below twice is rejected, quickly, on both paths', () => {
    for (const leaf of [1, 1n]) {
      let value: unknown = leaf
      for (let level = 0; level < 60; level++) value = { a: value, b: value }
      const error = codecError(() => createCodec().encode(value))
      expect(error.message).toMatch(/copies/)
    }
  })

  it('a plain value too large for the fast check is still written as plain JSON', () => {
    const rows = Array.from({ length: 1_100_000 }, (_, i) => i % 7)
    const payload = createCodec().encode({ rows })
    expect(payload.startsWith('j{"rows":[0,1,2')).toBe(true)
    expect((createCodec().decode(payload) as { rows: number[] }).rows).toHaveLength(1_100_000)
  })

  it('the same with a few levels is stored as copies', () => {
    for (const leaf of [1, 1n]) {
      let value: unknown = leaf
      for (let level = 0; level < 10; level++) value = [value, value]
      expectRoundTrip(value)
    }
  })
})

describe('payloads written by the de-duplicating encoder', () => {
  it('are rejected as a CodecError (a miss, then rewritten) rather than decoded to a garbled value', () => {
    // What the earlier encoder wrote for { ids: [1n, 2n], names: new Map([[1n, 'alice'], [2n, 'bob']]) }.
    const garbled =
      's{"json":{"ids":["1","2"],"names":[[null,"alice"],[null,"bob"]]},"meta":{"values":{"ids.0":["bigint"],' +
      '"ids.1":["bigint"],"names":["map"]},"referentialEqualities":{"ids.0":["names.0.0"],"ids.1":["names.1.0"]},' +
      '"v":1}};'
    const error = codecError(() => createCodec().decode(garbled))
    expect(error.message).toMatch(/shared references/)
    codecError(() => createCodec().decodeEntry(`e1,,${garbled}`))
  })
})
