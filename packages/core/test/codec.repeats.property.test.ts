import { describe, expect, it } from '@jest/globals'
import { type Codec, CodecError, createCodec } from '@memokit/core'
import fc from 'fast-check'
import { assertSameValue } from './codec-compare'

// Values whose parts repeat (the same object, equal BigInts, equal Dates, equal strings) in every position: array
// items, object fields, Map keys and values, Set items, registered class fields, custom types, Error properties and
// sparse arrays. Each must come back deep-equal and iterating in the same order (Map, Set and key order).

class Account {
  constructor(
    public balance: unknown,
    public limit: unknown,
  ) {}
}

class Money {
  constructor(readonly cents: bigint) {}
}

function makeCodec(): Codec {
  return createCodec()
    .registerClass(Account)
    .register<Money, string>({
      name: 'Money',
      isApplicable: (v): v is Money => v instanceof Money,
      serialize: (m) => m.cents.toString(),
      deserialize: (s) => new Money(BigInt(s)),
    })
}

type Shape =
  | { t: 'leaf'; v: unknown }
  | { t: 'date'; ms: number }
  | { t: 'shared'; i: number }
  | { t: 'money'; cents: bigint }
  | { t: 'array' | 'sparse' | 'set'; items: Shape[] }
  | { t: 'object'; entries: [string, Shape][] }
  | { t: 'map'; entries: [Shape, Shape][] }
  | { t: 'account'; balance: Shape; limit: Shape }
  | { t: 'error'; message: string; data: Shape }

// Few distinct leaves, so equal values meet often: as Map keys, in Sets, next to the same value elsewhere.
const leaf = fc
  .constantFrom<unknown>(1n, 2n, 10n, -3n, 'a', 'same', '', 0, -0, 1, 1.5, Number.NaN, -Infinity, null, undefined, true)
  .map((v): Shape => ({ t: 'leaf', v }))
const terminal = fc.oneof(
  { weight: 3, arbitrary: leaf },
  { weight: 3, arbitrary: fc.nat(20).map((i): Shape => ({ t: 'shared', i })) },
  { weight: 1, arbitrary: fc.constantFrom(0, 5, 1e12).map((ms): Shape => ({ t: 'date', ms })) },
  { weight: 1, arbitrary: fc.constantFrom(7n, 8n).map((cents): Shape => ({ t: 'money', cents })) },
)
const key = fc.constantFrom('a', 'b', 'id', '1', 'x.y', '__proto__', 'constructor', 'json', 'meta')

function shape(depth: number): fc.Arbitrary<Shape> {
  if (depth === 0) return terminal
  const inner = shape(depth - 1)
  const items = fc.array(inner, { maxLength: 4 })
  return fc.oneof(
    { weight: 4, arbitrary: terminal },
    { weight: 2, arbitrary: items.map((list): Shape => ({ t: 'array', items: list })) },
    { weight: 1, arbitrary: items.map((list): Shape => ({ t: 'sparse', items: list })) },
    { weight: 2, arbitrary: items.map((list): Shape => ({ t: 'set', items: list })) },
    {
      weight: 2,
      arbitrary: fc.array(fc.tuple(key, inner), { maxLength: 4 }).map((entries): Shape => ({ t: 'object', entries })),
    },
    {
      weight: 2,
      arbitrary: fc.array(fc.tuple(inner, inner), { maxLength: 4 }).map((entries): Shape => ({ t: 'map', entries })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(inner, inner).map(([balance, limit]): Shape => ({ t: 'account', balance, limit })),
    },
    { weight: 1, arbitrary: inner.map((data): Shape => ({ t: 'error', message: 'boom', data })) },
  )
}

function build(s: Shape, pool: readonly unknown[]): unknown {
  switch (s.t) {
    case 'leaf':
      return s.v
    case 'date':
      return new Date(s.ms)
    case 'shared':
      return pool[s.i % pool.length]
    case 'money':
      return new Money(s.cents)
    case 'array':
      return s.items.map((item) => build(item, pool))
    case 'sparse': {
      const array = new Array<unknown>(s.items.length * 2 + 1)
      s.items.forEach((item, i) => {
        array[2 * i + 1] = build(item, pool)
      })
      return array
    }
    case 'set':
      return new Set(s.items.map((item) => build(item, pool)))
    case 'object': {
      const object: Record<string, unknown> = {}
      for (const [k, v] of s.entries) {
        Object.defineProperty(object, k, {
          value: build(v, pool),
          enumerable: true,
          writable: true,
          configurable: true,
        })
      }
      return object
    }
    case 'map':
      return new Map(s.entries.map(([k, v]) => [build(k, pool), build(v, pool)]))
    case 'account':
      return new Account(build(s.balance, pool), build(s.limit, pool))
    case 'error':
      return Object.assign(new RangeError(s.message), { data: build(s.data, pool) })
  }
}

/** A value whose `shared` leaves are a few fixed objects and one generated subtree, each used wherever drawn. */
function materialize(root: Shape, subtree: Shape): unknown {
  const fixed: unknown[] = [
    { id: 'x' },
    new Date(5),
    new Account(1n, 1n),
    new Money(7n),
    new RangeError('r'),
    [1n, 'a'],
    new Map([[1n, 'one']]),
    new Set([null, 1n]),
    'same',
    10n,
  ]
  return build(root, [...fixed, build(subtree, fixed)])
}

describe('repeated parts (property)', () => {
  it('round-trip deep-equal and in the same iteration order, as values and as entries', () => {
    const codec = makeCodec()
    fc.assert(
      fc.property(shape(3), shape(2), fc.integer({ min: 0, max: 2 ** 50 }), (root, subtree, createdAt) => {
        const value = materialize(root, subtree)
        assertSameValue(codec.decode(codec.encode(value)), value)
        const entry = codec.decodeEntry(codec.encodeEntry({ value, createdAt, expiresAt: undefined }))
        assertSameValue(entry.value, value)
        expect(entry.createdAt).toBe(createdAt)
      }),
      { numRuns: 400 },
    )
  })

  it('a reference to an enclosing value, added anywhere, is a CodecError about a cycle', () => {
    const codec = makeCodec()
    fc.assert(
      fc.property(shape(3), shape(2), fc.nat(), fc.nat(), fc.boolean(), (root, subtree, which, up, asKey) => {
        const value = materialize({ t: 'array', items: [root] }, subtree)
        const containers = collectContainers(value)
        const [target, ancestors] = containers[which % containers.length] as [object, object[]]
        addReference(target, ancestors[up % ancestors.length] as object, asKey)
        for (const encode of [
          () => codec.encode(value),
          () => codec.encodeEntry({ value, createdAt: 1, expiresAt: undefined }),
        ]) {
          let thrown: unknown
          try {
            encode()
          } catch (error) {
            thrown = error
          }
          expect(thrown).toBeInstanceOf(CodecError)
          expect((thrown as Error).message).toMatch(/cycle/)
        }
      }),
      { numRuns: 300 },
    )
  })
})

/** Every array, plain object, Map, Set and Account in `value`, each with its enclosing containers and itself. */
function collectContainers(value: unknown): [object, object[]][] {
  const found: [object, object[]][] = []
  const seen = new Set<unknown>()
  const visit = (v: unknown, ancestors: object[]): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return
    seen.add(v)
    const chain = [...ancestors, v]
    if (v instanceof Error) {
      visit((v as { data?: unknown }).data, chain)
      return
    }
    if (v instanceof Date || v instanceof Money) return
    found.push([v, chain])
    const children = v instanceof Map ? [...v].flat() : v instanceof Set ? [...v] : Object.values(v)
    for (const child of children) visit(child, chain)
  }
  visit(value, [])
  return found
}

function addReference(target: object, ancestor: object, asKey: boolean): void {
  if (Array.isArray(target)) target.push(ancestor)
  else if (target instanceof Map) asKey ? target.set(ancestor, 1) : target.set('loop', ancestor)
  else if (target instanceof Set) target.add(ancestor)
  else if (target instanceof Account) target.limit = ancestor
  else Object.defineProperty(target, 'loop', { value: ancestor, enumerable: true, writable: true, configurable: true })
}
