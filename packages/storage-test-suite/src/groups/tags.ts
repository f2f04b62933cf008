import assert from 'node:assert/strict'
import { type AnyStorage, cacheValue, type Entry, invalidateTags } from '@memokit/core'
import { type Ctx, get, rand, type Suite, set } from '../harness'

async function shares(ctx: Ctx, other: AnyStorage): Promise<boolean> {
  const k = ctx.key('share')
  await set(ctx.storage, ctx.ns, k, 'shared')
  return (await get(other, ctx.ns, k))?.value === 'shared'
}

const getMany = async (s: AnyStorage, ns: string, keys: string[]): Promise<(Entry | undefined)[]> => {
  assert.ok(s.getMany !== undefined)
  return await s.getMany(ns, keys)
}

/** The optional `getMany`, when the storage has it: the same answers as `get`, in order, in one call. */
export function getManyTests(s: Suite): void {
  s.describe('getMany (optional)', () => {
    s.test('answers as get would, in the order asked, with undefined for misses', async ({ storage, ns, key }) => {
      if (storage.getMany === undefined) return
      const [a, b, c] = [key('a'), key('b'), key('c')]
      await set(storage, ns, a, { v: 'a' }, { meta: { staleAt: 1 } })
      await set(storage, ns, c, new Map([[1, 2n]]))
      await set(storage, `${ns}-other`, b, 'elsewhere')
      const found = await getMany(storage, ns, [c, b, a, c])
      assert.equal(found.length, 4)
      assert.equal(found[1], undefined, 'an entry of another namespace was returned')
      for (const [i, k] of [c, b, a, c].entries()) {
        assert.deepStrictEqual(found[i], await get(storage, ns, k), `getMany and get disagree on key #${i}`)
      }
      assert.deepStrictEqual(await getMany(storage, ns, []), [])
    })

    s.waiting(
      'treats an expired entry as a miss',
      async ({ storage, ns, key }) => {
        if (storage.getMany === undefined) return
        const k = key()
        const start = Date.now()
        await set(storage, ns, k, 'short', { ttl: s.ttl })
        await s.waitUntil(start, s.ttl + s.slack)
        assert.deepStrictEqual(await getMany(storage, ns, [k]), [undefined])
      },
      s.waitingTimeout,
    )
  })
}

/**
 * Tags through `cacheValue` over this storage: a tag invalidated through one storage object is seen through
 * another of the same scope (another replica), and a missing token never validates an entry.
 */
export function tagTests(s: Suite): void {
  s.describe('tags', () => {
    s.test('invalidateTags through one storage object invalidates the entries another reads', async (ctx) => {
      // Another storage object on the same data when the suite can make one (a second replica), else the same one.
      const { createSame } = s.options.scope ?? {}
      const other = createSame === undefined ? ctx.storage : await ctx.open(ctx.prefix, createSame)
      assert.ok(await shares(ctx, other), 'the second storage object does not read the first one’s entries')
      const tag = `user:${rand()}`
      let runs = 0
      const fn = async (id: number) => ({ id, run: ++runs, at: new Date(0) })
      const make = (storage: AnyStorage) =>
        cacheValue(fn, { storage, namespace: ctx.ns, name: 'tagged', tags: (id) => [tag, `id:${id}`] })
      const [a, b] = [make(ctx.storage), make(other)]
      const first = await a(1)
      assert.deepStrictEqual(await b(1), first, 'the second storage object did not read the tagged entry')
      await invalidateTags(other, [tag])
      const second = await a(1)
      assert.notDeepStrictEqual(second, first, 'an invalidated entry was served')
      assert.deepStrictEqual(await b(1), second)
      assert.equal(runs, 2)
    })

    s.test('a deleted token makes the entry compute again', async (ctx) => {
      const tag = `t:${rand()}`
      let runs = 0
      const f = cacheValue(async (id: number) => `${id}#${++runs}`, {
        storage: ctx.storage,
        namespace: ctx.ns,
        name: 'tokenless',
        tags: () => [tag],
      })
      assert.equal(await f(1), '1#1')
      assert.equal(await f(1), '1#1')
      await ctx.storage.delete('memokit:tags', tag)
      assert.equal(await f(1), '1#2')
    })
  })
}
