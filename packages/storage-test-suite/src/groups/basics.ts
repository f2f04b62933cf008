import assert from 'node:assert/strict'
import type { Entry } from '@memokit/core'
import { type Ctx, del, get, isThenable, now, rand, type Suite, set } from '../harness'
import { weirdKeys } from '../lists'
import { allBytes, nestedValues, numberValues, offsetBytesView, richValues, stringValues } from '../values'

/** Shape: name, async flag, methods, and promises exactly for an async storage. */
export function shapeTests(s: Suite): void {
  s.describe('shape', () => {
    s.test('has a name and an async flag', async ({ storage }) => {
      assert.equal(typeof storage.name, 'string')
      assert.ok(storage.name.length > 0, 'name must not be empty')
      assert.equal(typeof storage.async, 'boolean')
      for (const m of ['get', 'set', 'delete', 'clear'] as const) assert.equal(typeof storage[m], 'function', m)
      if (storage.add !== undefined) assert.equal(typeof storage.add, 'function', 'add')
      if (storage.close !== undefined) assert.equal(typeof storage.close, 'function', 'close')
    })

    s.test('answers with plain values when sync and with promises when async', async ({ storage, ns, key }) => {
      const k = key()
      const results: Array<[string, unknown]> = []
      results.push(['set', storage.set(ns, k, 1)])
      if (storage.async) await results[0]?.[1]
      results.push(['get', storage.get(ns, k)])
      results.push(['get (miss)', storage.get(ns, key())])
      if (storage.add !== undefined) results.push(['add', storage.add(ns, key(), 2)])
      results.push(['delete', storage.delete(ns, k)])
      results.push(['clear', storage.clear(ns)])
      for (const [op, result] of results) {
        if (storage.async) {
          assert.ok(isThenable(result), `async storage: ${op}() must return a promise`)
          await result
        } else {
          assert.ok(!isThenable(result), `sync storage: ${op}() must not return a promise`)
        }
      }
      if (!storage.async) {
        const k2 = key()
        storage.set(ns, k2, 'sync')
        const entry = storage.get(ns, k2) as Entry | undefined
        assert.equal(entry?.value, 'sync', 'a sync storage must return the entry directly')
      }
    })
  })
}

/** Writes each value under its own key, then reads each back and compares. */
async function roundTrip(ctx: Ctx, values: readonly unknown[], check = assertSameValue): Promise<void> {
  const keys = values.map(() => ctx.key('v'))
  for (let i = 0; i < values.length; i++) await set(ctx.storage, ctx.ns, keys[i] as string, values[i])
  for (let i = 0; i < values.length; i++) {
    const entry = await get(ctx.storage, ctx.ns, keys[i] as string)
    assert.ok(entry !== undefined, `value #${i} (${describeValue(values[i])}) was written but reads as a miss`)
    check(entry.value, values[i], `value #${i} (${describeValue(values[i])})`)
  }
}

/** Reads and writes: misses, value round trips, stamps, overwrites, odd keys. */
export function readWriteTests(s: Suite): void {
  s.describe('reads and writes', () => {
    s.test('returns undefined on a miss', async ({ storage, ns, key }) => {
      assert.equal(await get(storage, ns, key()), undefined)
      assert.equal(await get(storage, `never-${rand()}`, key()), undefined)
      // Same key under another namespace is a miss too.
      const k = key()
      await set(storage, ns, k, 'x')
      assert.equal(await get(storage, `${ns}-other`, k), undefined)
    })

    s.test('round-trips strings (empty, unicode, long)', (ctx) => roundTrip(ctx, stringValues))
    s.test('round-trips numbers (-0, NaN, ±Infinity, extremes)', (ctx) => roundTrip(ctx, numberValues))
    s.test('round-trips booleans', (ctx) => roundTrip(ctx, [true, false]))
    s.test('round-trips null', (ctx) => roundTrip(ctx, [null]))
    s.test('round-trips nested objects and arrays', (ctx) => roundTrip(ctx, nestedValues()))
    for (const [kind, values] of Object.entries(richValues())) {
      s.test(`round-trips ${kind}`, (ctx) => roundTrip(ctx, values))
    }

    s.test('stores undefined as a hit whose value is undefined, distinct from a miss', async ({ storage, ns, key }) => {
      const k = key()
      await set(storage, ns, k, undefined)
      const entry = await get(storage, ns, k)
      assert.notEqual(entry, undefined, 'a cached undefined must read as an entry, not as a miss')
      assert.ok(entry !== undefined && 'value' in entry, 'the entry must have a value property')
      assert.equal(entry?.value, undefined)
      assert.equal(await get(storage, ns, key()), undefined)
    })

    s.test('round-trips Uint8Array with all 256 byte values (also a view at an offset)', (ctx) =>
      roundTrip(ctx, [allBytes(), offsetBytesView(), new Uint8Array(0)], assertSameBytes),
    )

    s.test('round-trips Buffer with all 256 byte values as a Buffer', (ctx) =>
      roundTrip(ctx, [Buffer.from(allBytes()), Buffer.from('ü😀'), Buffer.alloc(0)], assertSameBytes),
    )

    s.test('stamps createdAt with the write time and expiresAt as createdAt + ttl', async ({ storage, ns, key }) => {
      const { ttl, G, stampTolerance } = s
      const [k1, k2, k3] = [key(), key(), key()] as [string, string, string]
      const before = now()
      await set(storage, ns, k1, 'no ttl')
      await set(storage, ns, k2, 'ttl', { ttl: 100 * ttl })
      await set(storage, ns, k3, 'explicit undefined ttl', { ttl: undefined })
      const after = now()
      for (const k of [k1, k2, k3]) {
        const entry = await get(storage, ns, k)
        assert.ok(entry !== undefined, 'written entry reads as a miss')
        assert.equal(typeof entry.createdAt, 'number')
        assert.ok(
          entry.createdAt >= before - stampTolerance && entry.createdAt <= after + stampTolerance,
          `createdAt ${entry.createdAt} not within [${before}, ${after}] ± ${stampTolerance} ms`,
        )
      }
      assert.equal((await get(storage, ns, k1))?.expiresAt, undefined, 'no ttl: expiresAt must be undefined')
      assert.equal((await get(storage, ns, k3))?.expiresAt, undefined, 'ttl undefined: expiresAt undefined')
      const withTtl = await get(storage, ns, k2)
      assert.ok(withTtl !== undefined && typeof withTtl.expiresAt === 'number', 'expiresAt must be a number')
      const expected = withTtl.createdAt + 100 * ttl
      assert.ok(
        Math.abs((withTtl.expiresAt as number) - expected) <= G,
        `expiresAt ${withTtl.expiresAt} should be createdAt + ttl = ${expected} (± ${G} ms)`,
      )
    })

    s.test('overwrites a value', async ({ storage, ns, key }) => {
      const k = key()
      await set(storage, ns, k, { version: 1 })
      await set(storage, ns, k, { version: 2, more: ['x'] })
      assert.deepEqual((await get(storage, ns, k))?.value, { version: 2, more: ['x'] })
      await set(storage, ns, k, 'now a string')
      assert.equal((await get(storage, ns, k))?.value, 'now a string')
    })

    s.test('keeps keys with special characters apart (":", "*", newline, 300 chars, case)', async ({ storage, ns }) => {
      const tag = rand()
      for (const [i, k] of weirdKeys.entries()) await set(storage, ns, k, { i, tag })
      for (const [i, k] of weirdKeys.entries()) {
        const entry = await get(storage, ns, k)
        assert.deepEqual(entry?.value, { i, tag }, `key ${JSON.stringify(k)} read back wrong`)
      }
      assert.equal(await del(storage, ns, ':'), true)
      assert.equal(await get(storage, ns, ':'), undefined)
      assert.deepEqual((await get(storage, ns, '::'))?.value, { i: 1, tag }, 'deleting ":" touched "::"')
      await storage.clear(ns)
    })
  })
}

/** delete: its return value and its reach. */
export function deleteTests(s: Suite): void {
  s.describe('delete', () => {
    s.test('returns true for a present key and removes it', async ({ storage, ns, key }) => {
      const k = key()
      const other = key()
      await set(storage, ns, k, 'v')
      await set(storage, ns, other, 'stays')
      assert.equal(await del(storage, ns, k), true)
      assert.equal(await get(storage, ns, k), undefined)
      assert.equal((await get(storage, ns, other))?.value, 'stays', 'delete removed another key')
      assert.equal(await del(storage, ns, k), false, 'a second delete must return false')
    })

    s.test('returns false for a missing key', async ({ storage, ns, key }) => {
      assert.equal(await del(storage, ns, key()), false)
      assert.equal(await del(storage, `never-${rand()}`, key()), false)
    })

    s.test('deletes only in the given namespace', async ({ storage, ns, key }) => {
      const k = key()
      await set(storage, ns, k, 'a')
      await set(storage, `${ns}:b`, k, 'b')
      assert.equal(await del(storage, `${ns}:b`, k), true)
      assert.equal((await get(storage, ns, k))?.value, 'a')
    })
  })
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `string(${value.length})` : JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value)
  if (value === null || value === undefined) return String(value)
  return Object.prototype.toString.call(value)
}

function assertSameValue(actual: unknown, expected: unknown, label: string): void {
  assert.deepStrictEqual(actual, expected, `${label} read back different`)
}

// Compares bytes without relying on instanceof, which fails across realms (jest's vm context vs Buffer).
export function assertSameBytes(actual: unknown, expected: unknown, label: string): void {
  const tag = (v: unknown) => Object.prototype.toString.call(v)
  assert.equal(tag(actual), '[object Uint8Array]', `${label}: expected a Uint8Array back, got ${tag(actual)}`)
  const wasBuffer = Buffer.isBuffer(expected)
  assert.equal(
    Buffer.isBuffer(actual),
    wasBuffer,
    `${label}: a ${wasBuffer ? 'Buffer' : 'plain Uint8Array'} must read back as a ${wasBuffer ? 'Buffer' : 'plain Uint8Array'}`,
  )
  const a = actual as Uint8Array
  const e = expected as Uint8Array
  assert.equal(a.length, e.length, `${label}: length differs`)
  for (let i = 0; i < e.length; i++) assert.equal(a[i], e[i], `${label}: byte ${i} differs`)
}
