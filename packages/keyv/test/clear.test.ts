// clear(namespace, keyPrefix) with and without Keyv's iterator: what is removed, what stays, and the races a
// store without atomic operations allows (replayed with a store adapter that only holds calls back).
import { afterAll, describe, expect, it } from '@jest/globals'
import type { AsyncStorage } from '@memokit/core'
import Keyv from 'keyv'
import { keyvStorage } from '../src'
import { gatedStore } from './gated-store'
import { cleanupRedis, REDIS_URL, RUN, rawClient, redisKeyv } from './redis-env'

afterAll(() => cleanupRedis(), 30_000)

const values = async (storage: AsyncStorage, ns: string, keys: readonly string[]): Promise<unknown[]> =>
  Promise.all(keys.map(async (key) => (await storage.get(ns, key))?.value))

async function fill(storage: AsyncStorage, ns: string, keys: readonly string[]): Promise<void> {
  await Promise.all(keys.map((key) => storage.set(ns, key, key)))
}

const range = (label: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${label}${i}`)

describe('clear by iterator removes the keys themselves', () => {
  it('on @keyv/redis: a key prefix across several delete batches, then the namespace', async () => {
    const namespace = `${RUN}-iter`
    const storage = keyvStorage(redisKeyv(REDIS_URL, namespace), { prefix: 'p' })
    const cleared = range('fn:', 250)
    const kept = range('fx:', 5)
    await fill(storage, 'ns', [...cleared, ...kept])
    await fill(storage, 'other', cleared.slice(0, 3))
    const client = await rawClient()
    const keys = async (): Promise<string[]> => {
      const found: string[] = []
      for await (const batch of client.scanIterator({ MATCH: `${namespace}::*`, COUNT: 1000 })) found.push(...batch)
      return found.sort()
    }
    expect(await keys()).toHaveLength(258)

    await storage.clear('ns', 'fn:')
    expect(await keys()).toEqual(
      [...kept.map((k) => `nns:k${k.replace(':', '%3A')}`), ...range('nother:kfn%3A', 3)]
        .map((rest) => `${namespace}::${namespace}:p:${rest}`)
        .sort(),
    )
    expect(await values(storage, 'ns', kept)).toEqual(kept)

    await storage.clear('ns')
    expect(await keys()).toHaveLength(3)
    expect(await values(storage, 'other', cleared.slice(0, 3))).toEqual(cleared.slice(0, 3))
  })

  it('on @keyv/redis, while keys vanish between its SCAN and its MGET (expired or deleted meanwhile)', async () => {
    const namespace = `${RUN}-vanish`
    const keyv = redisKeyv(REDIS_URL, namespace)
    const storage = keyvStorage(keyv, { prefix: 'p' })
    await fill(storage, 'ns', [...range('fn:', 30), 'fx:1'])
    // Adds a fault of timing only: the first key of every batch the adapter lists is gone before it reads them.
    const adapter = keyv.store as { mget(keys: string[]): Promise<unknown[]> }
    const mget = adapter.mget.bind(adapter)
    const client = await rawClient()
    adapter.mget = async (keys) => {
      if (keys[0] !== undefined) await client.unlink(keys[0])
      return mget(keys)
    }
    await storage.clear('ns', 'fn:')
    expect(await values(storage, 'ns', [...range('fn:', 30)])).toEqual(range('fn:', 30).map(() => undefined))
  })

  it('on the in-memory Map', async () => {
    const map = new Map()
    const storage = keyvStorage(new Keyv({ store: map }), { prefix: 'p' })
    await fill(storage, 'ns', [...range('fn:', 120), 'fx:1'])
    await storage.clear('ns', 'fn:')
    expect([...map.keys()]).toEqual(['keyv:p:nns:kfx%3A1'])
  })
})

describe('clear by generation (a store that cannot list)', () => {
  const setup = (map = new Map<string, unknown>()) => {
    const keyv = new Keyv({ store: map })
    return { map, keyv, storage: keyvStorage(keyv, { prefix: 'p', clearBy: 'generation' }) }
  }
  const version = (map: Map<string, unknown>): string => JSON.parse(map.get('keyv:p:nns:v') as string).value
  const marksOf = (map: Map<string, unknown>): unknown =>
    JSON.parse(JSON.parse(map.get(`keyv:p:nns:m${version(map)}`) as string).value)

  it('marks a key prefix: its entries are out of reach, the rest stay, new writes are reachable', async () => {
    const { map, storage } = setup()
    await fill(storage, 'ns', ['fn:1', 'fn:2', 'fx:1', 'f'])
    const before = version(map)
    await storage.clear('ns', 'fn:')
    expect(version(map)).toBe(before)
    expect(marksOf(map)).toEqual([[expect.stringMatching(/^[\w-]{12}$/), 'fn:']])
    expect(await values(storage, 'ns', ['fn:1', 'fn:2', 'fx:1', 'f'])).toEqual([undefined, undefined, 'fx:1', 'f'])
    await storage.set('ns', 'fn:1', 'again')
    expect((await storage.get('ns', 'fn:1'))?.value).toBe('again')
    // Cleared entries stay in the store until their ttl: out of reach, not deleted.
    expect([...map.keys()].filter((k) => k.endsWith(':kfn%3A2'))).toHaveLength(1)

    await storage.clear('ns')
    expect(version(map)).not.toBe(before)
    expect(marksOf(map)).toEqual([])
    expect(await values(storage, 'ns', ['fn:1', 'fx:1'])).toEqual([undefined, undefined])
  })

  it('clears the whole namespace once the marks pass 2 KB (more than asked, never less)', async () => {
    const { map, storage } = setup()
    await fill(storage, 'ns', ['kept'])
    const before = version(map)
    let clears = 0
    while (version(map) === before) {
      await storage.clear('ns', `prefix-number-${clears++}:`)
      if (clears > 200) throw new Error('the marks never reset')
    }
    expect(clears).toBeGreaterThan(40)
    expect(marksOf(map)).toEqual([])
    expect(await storage.get('ns', 'kept')).toBeUndefined()
  })

  it('a lost version key clears the namespace for good', async () => {
    const { map, storage } = setup()
    await fill(storage, 'ns', ['a', 'b'])
    map.delete('keyv:p:nns:v')
    expect(await storage.get('ns', 'a')).toBeUndefined()
    await storage.set('ns', 'c', 'c')
    expect(await values(storage, 'ns', ['a', 'b', 'c'])).toEqual([undefined, undefined, 'c'])
  })

  it('a lost marks key never brings back what a key-prefix clear removed', async () => {
    const { map, storage } = setup()
    await fill(storage, 'ns', ['fn:1', 'fx:1'])
    await storage.clear('ns', 'fn:')
    map.delete(`keyv:p:nns:m${version(map)}`)
    // Without its marks the version counts as lost: everything misses, nothing comes back.
    expect(await values(storage, 'ns', ['fn:1', 'fx:1'])).toEqual([undefined, undefined])
    await storage.set('ns', 'other', 1)
    expect(await values(storage, 'ns', ['fn:1', 'fx:1'])).toEqual([undefined, undefined])
  })

  it("a key-prefix clear racing another process's full clear can't make cleared entries reachable", async () => {
    const map = new Map<string, unknown>()
    const [a, b] = [gatedStore(map), gatedStore(map)]
    const storageA = keyvStorage(new Keyv({ store: a }), { prefix: 'p', clearBy: 'generation' })
    const storageB = keyvStorage(new Keyv({ store: b }), { prefix: 'p', clearBy: 'generation' })
    await fill(storageA, 'ns', ['fn:1', 'fx:1'])
    // B has read the state and is about to write its mark when A clears the whole namespace.
    const held = b.hold('set', (key) => key.includes(':nns:m'))
    const prefixClear = storageB.clear('ns', 'fn:')
    await held.reached
    await storageA.clear('ns')
    held.release()
    await prefixClear
    expect(await values(storageA, 'ns', ['fn:1', 'fx:1'])).toEqual([undefined, undefined])
    expect(await values(storageB, 'ns', ['fn:1', 'fx:1'])).toEqual([undefined, undefined])
  })

  it('a key-prefix clear whose mark another process overwrote before its check marks again', async () => {
    const map = new Map<string, unknown>()
    const [b, c] = [gatedStore(map), gatedStore(map)]
    const storageB = keyvStorage(new Keyv({ store: b }), { prefix: 'p', clearBy: 'generation' })
    const storageC = keyvStorage(new Keyv({ store: c }), { prefix: 'p', clearBy: 'generation' })
    await fill(storageB, 'ns', ['b:1', 'c:1', 'd:1'])
    await storageC.get('ns', 'd:1')
    // B read the marks ([]) and holds its write; C marks 'c:' and, before C checks, B's write drops C's mark.
    const bWrite = b.hold('set', (key) => key.includes(':nns:m'))
    const clearB = storageB.clear('ns', 'b:')
    await bWrite.reached
    // C's second read of the marks is its check (the first is the read before its write).
    const cCheck = c.hold('get', (key) => key.includes(':nns:m'), 2)
    const clearC = storageC.clear('ns', 'c:')
    await cCheck.reached
    bWrite.release()
    await clearB
    cCheck.release()
    await clearC
    expect(await values(storageB, 'ns', ['b:1', 'c:1', 'd:1'])).toEqual([undefined, undefined, 'd:1'])
    expect(await values(storageC, 'ns', ['b:1', 'c:1', 'd:1'])).toEqual([undefined, undefined, 'd:1'])
  })

  it('key-prefix clears of one storage object never overwrite each other', async () => {
    const { map, storage } = setup()
    const prefixes = range('fn', 20).map((p) => `${p}:`)
    await fill(storage, 'ns', [...prefixes.map((p) => `${p}x`), 'kept'])
    await Promise.all(prefixes.map((p) => storage.clear('ns', p)))
    expect((marksOf(map) as string[][]).map(([, prefix]) => prefix).sort()).toEqual([...prefixes].sort())
    expect(await values(storage, 'ns', [...prefixes.map((p) => `${p}x`), 'kept'])).toEqual([
      ...prefixes.map(() => undefined),
      'kept',
    ])
  })
})
