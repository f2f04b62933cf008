import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { type AsyncStorage, cacheClear, cacheValue } from '@memokit/core'
import { fileStorage } from '@memokit/file'
import { redisStorage } from '@memokit/redis'

/*
 * Adversarial review: values that must come back from Redis (and the file storage, the codec's other string
 * holder) exactly as the function returned them, and clears that must touch nothing but their own namespace.
 */

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const run = `adv-values-${process.pid}-${Date.now()}`
const dir = mkdtempSync(join(tmpdir(), 'memokit-adv-'))
const storages: [string, AsyncStorage][] = [
  ['redis', redisStorage({ url, prefix: run }) as AsyncStorage],
  ['file', fileStorage({ dir, prefix: run }) as unknown as AsyncStorage],
]

afterAll(async () => {
  for (const [, s] of storages) {
    await s.clear('values')
    for (const ns of ['users', 'users2', 'users:x', 'users*', 'users%3Ax']) await s.clear(ns)
    await s.close?.()
  }
  rmSync(dir, { recursive: true, force: true })
})

const obj = { k: 1 }
const values: [string, () => unknown][] = [
  ['-0 and NaN', () => [-0, Number.NaN, Number.POSITIVE_INFINITY]],
  [
    'a sparse array',
    () => {
      const a: unknown[] = [1]
      a[2] = 3
      return a
    },
  ],
  ['undefined in objects and arrays', () => ({ a: undefined, b: [undefined] })],
  ['Dates, valid and invalid', () => [new Date(0), new Date(8.64e15), new Date(Number.NaN)]],
  [
    'a Map keyed by objects',
    () =>
      new Map<unknown, unknown>([
        [obj, 1],
        [{ k: 1 }, 2],
      ]),
  ],
  ['a Set, BigInts', () => new Set<unknown>([1, '1', 1n, -(2n ** 70n)])],
  ['bytes', () => [Buffer.from([0, 255]), new Uint8Array([1, 2]), new Float64Array([-0, Number.NaN])]],
  ['a __proto__ key', () => JSON.parse('{"__proto__":{"polluted":true},"x":[1]}')],
  ['an Error with a code', () => Object.assign(new TypeError('boom'), { code: 'E_X' })],
  ['lone surrogates and NUL', () => ['\ud800', '\udc00x', 'a\u0000b', '\u2028']],
  ['a 1 MB string', () => 'x'.repeat(1 << 20)],
  ['shared parts', () => ({ a: obj, b: obj })],
  ['a RegExp match beside a Date', () => ({ m: /b/.exec('abc'), at: new Date(1) })],
]

describe.each(storages)('%s', (_name, storage) => {
  it.each(values)('%s: the hit equals what the miss returned', async (label, make) => {
    const fn = cacheValue(async (_label: string) => make(), { storage, namespace: 'values', name: `values-${_name}` })
    const miss = await fn(label)
    const hit = await fn(label)
    if (label.startsWith('Dates')) {
      // An invalid Date equals nothing, itself included: compare the time values.
      expect((hit as Date[]).map((d) => d.getTime())).toEqual((miss as Date[]).map((d) => d.getTime()))
      expect((hit as Date[]).every((d) => d instanceof Date)).toBe(true)
    } else if (label.startsWith('a RegExp match')) {
      // Extra properties of an array (index, input, groups) are not stored, as documented; the elements are.
      expect(hit).toEqual({ m: ['b'], at: new Date(1) })
      expect(Object.keys((hit as { m: unknown[] }).m)).toEqual(['0'])
    } else {
      expect(hit).toEqual(miss)
    }
    if (typeof miss === 'object') expect(hit).not.toBe(miss)
  })

  it('clearing a namespace leaves namespaces that share its start or hold separators', async () => {
    const namespaces = ['users', 'users2', 'users:x', 'users*', 'users%3Ax']
    let runs = 0
    const fns = namespaces.map((namespace) =>
      cacheValue(async (id: number) => ++runs + id * 0, { storage, namespace, name: `get-${_name}` }),
    )
    for (const f of fns) await f(1)
    expect(runs).toBe(5)
    const clearUsers = cacheClear(async () => undefined, { storage, namespaces: 'users' })
    await clearUsers()
    for (const f of fns) await f(1)
    // Only 'users' ran again.
    expect(runs).toBe(6)
    await cacheClear(async () => undefined, { storage, namespaces: 'users*' })()
    for (const f of fns) await f(1)
    expect(runs).toBe(7)
  })
})
