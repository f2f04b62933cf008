import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { cacheValue, memoryStorage, type Storage } from '@memokit/core'
import { type MemoryInternals, memoryInternals } from '../src/memory'

const NS = 'n'
const T0 = 1_700_000_000_000

afterEach(() => {
  jest.useRealTimers()
})

function internalsOf(storage: Storage): MemoryInternals {
  const internals = memoryInternals(storage)
  if (internals === undefined) throw new Error('memoryStorage must expose its internals')
  return internals
}

/**
 * How many tables the storage holds, read through the ids: a new table takes the lowest free id, else the next
 * one. Makes (and keeps) one namespace with a generic and a number table.
 */
function tablesHeld(internals: MemoryInternals): number {
  const probe = `probe-${Math.random()}`
  return Math.max(internals.genericTable(probe).id, internals.numberTable(probe, 'p:').id)
}

describe('memoryStorage: tables do not pile up with namespaces and prefixes', () => {
  it('reads and deletes of keys in ever new namespaces and prefixes leave no table behind', () => {
    const storage = memoryStorage({ maxEntries: 10, maxSize: 10, sizeCalculation: (v) => String(v).length })
    const internals = internalsOf(storage)
    const before = tablesHeld(internals)
    const found: unknown[] = []
    for (let i = 0; i < 2_000; i++) {
      found.push(storage.get(`ns${i}`, 'k'), storage.get(NS, `p${i}:[1]`), storage.delete(`ns${i}`, `p${i}:[2]`))
      found.push(internals.slotOfKey(`nt${i}`, 'k'), storage.add?.(`na${i}`, 'k', 'x'.repeat(11)))
      // Nor does a write that fails or is too large to keep.
      storage.set(`nb${i}`, `p${i}:[3]`, 'x'.repeat(11))
    }
    expect(found.filter((x) => x !== undefined && x !== false && x !== 0)).toEqual([])
    // The probe's own two tables, made again.
    expect(tablesHeld(internals)).toBe(before + 2)
  })

  it('a table whose entries all went (delete, clear, eviction, expiry, too large) is dropped', () => {
    jest.useFakeTimers({ now: T0 })
    const storage = memoryStorage({ maxEntries: 10, maxSize: 100, sizeCalculation: (v) => String(v).length })
    const internals = internalsOf(storage)
    const before = tablesHeld(internals)
    for (let i = 0; i < 500; i++) {
      const ns = `tenant-${i}`
      storage.set(ns, 'k', 'v')
      storage.set(ns, `p${i}:[1]`, 'v', { ttl: 10 })
      storage.set(NS, `q${i}:[${i}]`, 'v')
      storage.set(ns, 'big', 'x'.repeat(101))
      expect(storage.delete(ns, 'k')).toBe(true)
      if (i % 2 === 0) storage.clear(ns)
      else storage.clear(ns, `p${i}:[`)
    }
    jest.advanceTimersByTime(10)
    for (let i = 0; i < 500; i++) storage.get(`tenant-${i}`, `p${i}:[1]`)
    for (let i = 500; i < 520; i++) storage.set(NS, `r${i}:[1]`, 'v')
    // Left: the first probe's two tables, the ten number tables of the last ten entries with `n`'s generic table,
    // and the second probe's two.
    expect(tablesHeld(internals)).toBe(before + 13)
  })

  it('an eviction that empties the very table being written keeps the new entry', () => {
    const storage = memoryStorage({ maxEntries: 1 })
    storage.set('a', 'k1', 1)
    storage.set('a', 'k2', 2)
    expect(storage.get('a', 'k2')?.value).toBe(2)
    storage.set('a', 'f:[1]', 3)
    storage.set('a', 'f:[2]', 4)
    expect(storage.get('a', 'f:[2]')?.value).toBe(4)
    storage.set('b', 'k', 5)
    expect(storage.get('b', 'k')?.value).toBe(5)
    expect(storage.get('a', 'f:[2]')).toBeUndefined()
  })

  it('the tables a hit path holds stay when emptied: their ids never pass to another table', () => {
    const storage = memoryStorage()
    const internals = internalsOf(storage)
    const numbers = internals.numberTable(NS, 'f:')
    const generic = internals.genericTable(NS)
    storage.set(NS, 'f:[1]', 'one')
    storage.set(NS, 'k', 'k')
    storage.clear(NS)
    // Tables made now take any id freed by the clear.
    storage.set(NS, 'h:[1]', 'other function')
    storage.set('m', 'k', 'other namespace')
    storage.set(NS, 'f:[1]', 'again')
    expect(internals.read(numbers, 1)).toBe('again')
    expect(internals.keyAt(generic, internals.slotOfKey('m', 'k'))).toBeUndefined()
    // Through cacheValue: after a clear, the number path reads the function's own entries, not another's.
    let runs = 0
    const f = cacheValue((n: number) => ({ n, run: ++runs }), { storage, name: 'g' })
    const first = f(7)
    f.clear()
    storage.set('default', 'other:[7]', 'not g')
    const second = f(7)
    expect(second).not.toBe(first)
    expect(second).toMatchObject({ n: 7 })
    expect(f(7)).toBe(second)
  })
})

describe('memoryStorage: the 32-bit time columns', () => {
  it.each([2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1, 2 ** 32])('a ttl of %i ms expires exactly then', (ttl) => {
    // The storage's times start 1 ms before it was made: 2 ** 32 - 2 is the last ttl that fits 32 bits.
    jest.useFakeTimers({ now: T0 })
    const storage = memoryStorage()
    storage.set(NS, 'f:[1]', 1, { ttl })
    storage.set(NS, 'k', 2, { ttl })
    expect(storage.get(NS, 'f:[1]')?.expiresAt).toBe(T0 + ttl)
    jest.setSystemTime(T0 + ttl - 1)
    expect(storage.get(NS, 'k')?.value).toBe(2)
    jest.setSystemTime(T0 + ttl)
    expect(storage.get(NS, 'f:[1]')).toBeUndefined()
    expect(storage.get(NS, 'k')).toBeUndefined()
  })
})
