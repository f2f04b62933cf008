import { describe, expect, it } from '@jest/globals'
import { CodecError, createCodec } from '@memokit/core'

function encodeMessage(value: unknown, codec = createCodec()): string {
  try {
    codec.encode(value)
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError)
    return (error as Error).message
  }
  throw new Error('expected a CodecError, nothing was thrown')
}

describe('what the codec says about values it cannot store', () => {
  it('a Promise: asks whether an await is missing, never suggests registering Promise', () => {
    for (const value of [
      Promise.resolve(1),
      { user: { profile: Promise.resolve(1) } },
      [new Date(0), new Promise(() => {})],
    ]) {
      const message = encodeMessage(value)
      expect(message).toMatch(/contains a Promise/)
      expect(message).toMatch(/await/)
      expect(message).not.toMatch(/registerClass/)
    }
    expect(encodeMessage({ user: { profile: Promise.resolve(1) } })).toContain('value["user"]["profile"]')
  })

  it('names positions inside Maps and Sets', () => {
    expect(encodeMessage({ m: new Map([['k', Promise.resolve(1)]]) })).toContain('value["m"]<Map value #0>')
    expect(encodeMessage(new Set([1, () => 1]))).toMatch(/a function \(anonymous\) at value<Set item #1>/)
    class Key {}
    expect(encodeMessage(new Map([[new Key(), 1]]))).toMatch(/a Key instance at value<Map key #0>/)
  })

  it('a typed array subclass is refused when encoding (it used to write a payload no codec could read)', () => {
    class Bytes extends Uint8Array {}
    expect(encodeMessage({ b: new Bytes(3) })).toMatch(/a Bytes instance at value\["b"\].*registerClass\(Bytes\)/)
  })

  it('a thenable class instance (a query builder, say) is named as Promise-like', () => {
    class Query {
      // biome-ignore lint/suspicious/noThenProperty: a thenable is the point
      then(resolve: (n: number) => void): void {
        resolve(1)
      }
    }
    const message = encodeMessage({ rows: new Query() })
    expect(message).toMatch(/contains a Promise-like Query/)
    expect(message).toMatch(/await/)
  })

  it('an instance of an unregistered class is named with the right article, and so is an anonymous one', () => {
    class Invoice {}
    class Order {}
    expect(encodeMessage({ at: new Date(0), x: new Invoice() })).toMatch(/an Invoice instance at value\["x"\]/)
    expect(encodeMessage([new Order()])).toMatch(/an Order instance at value\[0\]/)
    const message = encodeMessage(new (class {})())
    expect(message).toMatch(/an instance of an anonymous class/)
    expect(message).not.toMatch(/an object of/)
  })

  it('a custom transformer that returns a BigInt is told so, not that functions cannot be cached', () => {
    class Money {
      constructor(readonly cents: bigint) {}
    }
    const codec = createCodec().register<Money, unknown>({
      name: 'Money',
      isApplicable: (v): v is Money => v instanceof Money,
      serialize: (m) => m.cents,
      deserialize: (c) => new Money(BigInt(c as string)),
    })
    const message = encodeMessage(new Money(1n), codec)
    expect(message).toMatch(/a BigInt returned by the custom type "Money"/)
    expect(message).not.toMatch(/functions and symbols/)
  })

  it('a corrupt payload that is not a string names what it got with an article', () => {
    for (const [payload, what] of [
      [Buffer.from('j1;'), 'a Buffer'],
      [undefined, 'undefined'],
      [5, 'a number'],
      [{}, 'an object'],
    ] as const) {
      let message = ''
      try {
        createCodec().decode(payload as unknown as string)
      } catch (error) {
        message = (error as Error).message
      }
      expect(message).toContain(`got ${what}`)
    }
  })
})
