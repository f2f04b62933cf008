import { runInNewContext } from 'node:vm'
import { describe, expect, it } from '@jest/globals'
import { ConfigError, createCodec } from '@memokit/core'
import { codecError } from './codec-compare'

/*
 * Values the codec used to store as something else without saying so: a subclass of a built-in came back as the
 * built-in, and an Error's own `__proto__` property was dropped. Each must now round-trip exactly or be refused.
 */

class MyMap extends Map<unknown, unknown> {}
class MySet extends Set<unknown> {}
class MyDate extends Date {}
class MyArray extends Array<unknown> {}
class MyRegExp extends RegExp {}
class MyURL extends URL {}

const sparseSubclass = (): MyArray => {
  const a = new MyArray()
  a[200] = 1
  return a
}

describe('subclasses of built-ins', () => {
  it.each<[string, () => unknown]>([
    ['a Map', () => new MyMap([[1, 2]])],
    ['a Set', () => new MySet([1])],
    ['a Date', () => new MyDate(5)],
    ['an invalid Date', () => new MyDate(Number.NaN)],
    ['an Array', () => MyArray.from([1, 2])],
    ['a sparse Array', sparseSubclass],
    ['a RegExp', () => new MyRegExp('a+', 'g')],
    ['a URL', () => new MyURL('https://example.com/')],
  ])('a subclass of %s is a CodecError, at top level and nested, never the built-in on decode', (_label, make) => {
    const codec = createCodec()
    for (const value of [make(), { a: [make()] }, new Map([['k', make()]])]) {
      const error = codecError(() => codec.encode(value))
      expect(error.message).toMatch(/My[A-Za-z]+/)
      codecError(() => codec.encodeEntry({ value, createdAt: 1, expiresAt: undefined }))
    }
  })

  it('a custom type for the subclass still stores it', () => {
    const codec = createCodec().register<MyMap, [unknown, unknown][]>({
      name: 'MyMap',
      isApplicable: (v): v is MyMap => v instanceof MyMap,
      serialize: (m) => [...m] as [unknown, unknown][],
      deserialize: (entries) => new MyMap(entries),
    })
    const decoded = codec.decode(codec.encode({ m: new MyMap([[1, 'x']]) })) as { m: MyMap }
    expect(decoded.m).toBeInstanceOf(MyMap)
    expect([...decoded.m]).toEqual([[1, 'x']])
  })

  it('registerClass refuses a subclass of a built-in whose contents it could not store', () => {
    for (const cls of [MyMap, MySet, MyDate, MyArray, MyRegExp, MyURL, class Bytes extends Uint8Array {}]) {
      expect(() => createCodec().registerClass(cls)).toThrow(ConfigError)
    }
    // A plain class and an Error subclass are still fine.
    expect(() => createCodec().registerClass(class Plain {})).not.toThrow()
    expect(() => createCodec().registerClass(class Oops extends Error {})).not.toThrow()
  })

  it('built-ins from another realm still round-trip as their local equivalents', () => {
    const codec = createCodec()
    const foreign = runInNewContext('[[1, 2], (() => { const a = []; a[100] = 1; return a })()]') as unknown[][]
    const decoded = codec.decode(codec.encode(foreign)) as unknown[][]
    expect(decoded[0]).toEqual([1, 2])
    expect(decoded[1]).toHaveLength(101)
    expect(decoded[1]?.[100]).toBe(1)
    expect(0 in (decoded[1] as unknown[])).toBe(false)
  })
})

describe('an Error with an own __proto__ property', () => {
  it.each([1, { x: 1 }, [1]])('keeps it as an own property (%j)', (inner) => {
    const codec = createCodec()
    const error = new Error('m')
    Object.defineProperty(error, '__proto__', { value: inner, enumerable: true, writable: true, configurable: true })
    Object.assign(error, { code: 'E_X' })
    const decoded = codec.decode(codec.encode(error)) as Error & { code?: string }
    expect(Object.getPrototypeOf(decoded)).toBe(Error.prototype)
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual(inner)
    expect(decoded.code).toBe('E_X')
  })
})
