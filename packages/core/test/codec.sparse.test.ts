import { describe, expect, it } from '@jest/globals'
import { createCodec } from '@memokit/core'

const MAX_LENGTH = 2 ** 32 - 1

/**
 * `array` behind a Proxy that counts every property read, key listing and `in` test, and throws once `budget` is
 * spent: a codec that walks the array's `length` instead of its elements fails at once instead of freezing.
 */
function counted<T extends object>(array: T, budget: number): { proxy: T; work: () => number } {
  let work = 0
  const spend = (): void => {
    if (++work > budget) throw new Error(`more than ${budget} operations on a sparse array`)
  }
  const proxy = new Proxy(array, {
    get(target, key, receiver) {
      spend()
      return Reflect.get(target, key, receiver)
    },
    has(target, key) {
      spend()
      return Reflect.has(target, key)
    },
    ownKeys(target) {
      spend()
      return Reflect.ownKeys(target)
    },
    getOwnPropertyDescriptor(target, key) {
      spend()
      return Reflect.getOwnPropertyDescriptor(target, key)
    },
  })
  return { proxy, work: () => work }
}

describe('sparse arrays cost what they hold, not their length', () => {
  it('one element and length 2**32 - 1 encodes and decodes, as a value and as an entry', () => {
    const codec = createCodec()
    const sparse: unknown[] = []
    sparse[5] = 'x'
    sparse.length = MAX_LENGTH
    const decoded = codec.decode(codec.encode({ sparse })) as { sparse: unknown[] }
    expect(decoded.sparse).toHaveLength(MAX_LENGTH)
    expect(decoded.sparse[5]).toBe('x')
    expect(Object.keys(decoded.sparse)).toEqual(['5'])
    const entry = codec.decodeEntry(codec.encodeEntry({ value: sparse, createdAt: 1, expiresAt: undefined }))
    expect(Object.keys(entry.value as unknown[])).toEqual(['5'])
    expect(entry.value).toHaveLength(MAX_LENGTH)
  })

  it('the work done on such an array is a handful of operations', () => {
    const codec = createCodec()
    const sparse: unknown[] = [1n]
    sparse[1000] = { a: 1 }
    sparse.length = MAX_LENGTH
    const { proxy, work } = counted(sparse, 200)
    const payload = codec.encode([proxy, 'after'])
    expect(work()).toBeLessThan(200)
    const decoded = codec.decode(payload) as [unknown[], string]
    expect(decoded[0]).toHaveLength(MAX_LENGTH)
    expect(Object.keys(decoded[0])).toEqual(['0', '1000'])
    expect(decoded[0][1000]).toEqual({ a: 1 })
    expect(decoded[1]).toBe('after')
  })

  it('only indices are stored: other own properties of the array are not, as with dense arrays', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const sparse = Object.assign([1, , 3], { extra: 'dropped' })
    const decoded = createCodec().decode(createCodec().encode(sparse)) as unknown[]
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(decoded).toStrictEqual([1, , 3])
    expect(Object.keys(decoded)).toEqual(['0', '2'])
  })
})
