import assert from 'node:assert/strict'
import type { EntryMeta } from '@memokit/core'
import { add, get, type Suite, set } from '../harness'
import { metaValues } from '../values'
import { assertSameBytes } from './basics'

const show = (meta: unknown): string => JSON.stringify(meta)?.slice(0, 60) ?? String(meta)

/** `SetOptions.meta` is kept verbatim with the entry and comes back as `Entry.meta`; absent when none was written. */
export function metaTests(s: Suite): void {
  s.describe('meta', () => {
    s.test('comes back equal to what was written, for every JSON shape', async ({ storage, ns, key }) => {
      const written = metaValues().map((meta) => ({ meta, k: key() }))
      for (const { meta, k } of written) await set(storage, ns, k, { v: k }, { meta })
      for (const { meta, k } of written) {
        const entry = await get(storage, ns, k)
        assert.ok(entry !== undefined, `entry with meta ${show(meta)} reads as a miss`)
        assert.deepStrictEqual(entry.meta, meta, `meta ${show(meta)} read back different`)
        assert.deepStrictEqual(entry.value, { v: k }, `the value written with meta ${show(meta)} read back different`)
      }
    })

    s.test('is kept with every kind of value, and with a ttl', async ({ storage, ns, key }) => {
      const meta: EntryMeta = { promise: true }
      const values: unknown[] = [undefined, null, 'text', 0, new Date(0), new Map([[1, 2]]), 10n]
      for (const value of values) {
        const k = key()
        await set(storage, ns, k, value, { meta })
        const entry = await get(storage, ns, k)
        assert.deepStrictEqual(entry?.meta, meta, `meta lost with value ${String(value)}`)
        assert.deepStrictEqual(entry?.value, value)
      }
      for (const bytes of [Buffer.from('bytes'), new Uint8Array([1, 2, 3])]) {
        const k = key()
        await set(storage, ns, k, bytes, { meta })
        const entry = await get(storage, ns, k)
        assert.deepStrictEqual(entry?.meta, meta, `meta lost with a ${bytes.constructor.name} value`)
        assertSameBytes(entry?.value, bytes, 'bytes written with meta')
      }
      const k = key()
      await set(storage, ns, k, 'with ttl', { ttl: 100 * s.ttl, meta })
      const entry = await get(storage, ns, k)
      assert.deepStrictEqual(entry?.meta, meta, 'meta lost with a ttl')
      assert.equal(typeof entry?.expiresAt, 'number', 'meta lost the ttl')
    })

    s.test('is absent when the write had none', async ({ storage, ns, key }) => {
      for (const options of [undefined, {}, { ttl: 100 * s.ttl }, { meta: undefined }]) {
        const k = key()
        await set(storage, ns, k, 'plain', options)
        const entry = await get(storage, ns, k)
        assert.ok(entry !== undefined, 'written entry reads as a miss')
        assert.equal(entry.meta, undefined, `set with ${show(options)} returned meta ${show(entry.meta)}`)
      }
    })

    s.test('is replaced by an overwrite, and dropped by an overwrite without meta', async ({ storage, ns, key }) => {
      const k = key()
      await set(storage, ns, k, 1, { meta: { promise: true } })
      await set(storage, ns, k, 2, { meta: { promise: false } })
      assert.deepStrictEqual((await get(storage, ns, k))?.meta, { promise: false }, 'an overwrite kept the old meta')
      await set(storage, ns, k, 3)
      const entry = await get(storage, ns, k)
      assert.equal(entry?.value, 3)
      assert.equal(entry?.meta, undefined, 'an overwrite without meta kept the old meta')
    })

    s.test('is kept by add', async ({ storage, ns, key }) => {
      if (storage.add === undefined) return // add is optional
      const withMeta = key()
      assert.equal(await add(storage, ns, withMeta, 'a', { meta: { promise: true } }), true)
      assert.deepStrictEqual((await get(storage, ns, withMeta))?.meta, { promise: true }, 'add lost meta')
      const without = key()
      assert.equal(await add(storage, ns, without, 'b'), true)
      assert.equal((await get(storage, ns, without))?.meta, undefined, 'add without meta returned meta')
    })
  })
}
