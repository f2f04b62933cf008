import assert from 'node:assert/strict'
import { add, del, get, now, type Suite, set } from '../harness'

/** TTL: an entry lives until its ttl and not after; an overwrite restarts the expiry. */
export function ttlTests(s: Suite): void {
  const { ttl, G } = s
  const late = (): number => ttl + G + s.slack
  s.describe(`TTL (${ttl} ms, granularity ${G} ms, ${s.fakeTime ? 'advanced clock' : 'real waiting'})`, () => {
    s.waiting(
      'keeps an entry until its ttl and drops it after',
      async ({ storage, ns, key }) => {
        const k = key()
        const forever = key()
        const start = now()
        await set(storage, ns, k, 'short-lived', { ttl })
        const written = now()
        await set(storage, ns, forever, 'forever')
        s.assertLiveUnlessLate(await get(storage, ns, k), 'short-lived', start, 'right after the write')
        // "Shortly before": halfway through the part of the ttl that granularity can't eat.
        await s.waitUntil(start, (ttl - G) / 2)
        s.assertLiveUnlessLate(await get(storage, ns, k), 'short-lived', start, 'shortly before the ttl')
        await s.waitUntil(start, late())
        assert.equal(await get(storage, ns, k), undefined, `still there ${now() - start} ms after a ${ttl} ms ttl`)
        // A server's own ttl runs from when the write reached it, which on a loaded machine can be well after `start`
        // (a read already says "expired" by the entry's stamped expiry): the delete is checked once a ttl has passed
        // since the write's answer, and so since the server got it.
        await s.waitUntil(written, late())
        assert.equal(await del(storage, ns, k), false, 'deleting an expired entry must return false')
        assert.equal((await get(storage, ns, forever))?.value, 'forever', 'an entry without ttl expired')
      },
      s.waitingTimeout,
    )

    s.waiting(
      'restarts the expiry on overwrite without ttl',
      async ({ storage, ns, key }) => {
        const k = key()
        const start = now()
        await set(storage, ns, k, 'first', { ttl })
        await set(storage, ns, k, 'second')
        await s.waitUntil(start, late())
        const entry = await get(storage, ns, k)
        assert.equal(entry?.value, 'second', 'an overwrite without ttl must not keep the old expiry')
        assert.equal(entry?.expiresAt, undefined)
      },
      s.waitingTimeout,
    )

    s.waiting(
      'restarts the expiry on overwrite with a longer ttl',
      async ({ storage, ns, key }) => {
        const k = key()
        const longer = 10 * ttl
        const start = now()
        await set(storage, ns, k, 'first', { ttl })
        await set(storage, ns, k, 'second', { ttl: longer })
        await s.waitUntil(start, late())
        const entry = await get(storage, ns, k)
        assert.equal(entry?.value, 'second', 'an overwrite with a longer ttl must survive the first ttl')
        assert.ok(typeof entry?.expiresAt === 'number' && entry.expiresAt >= start + longer - G)
        if (s.fakeTime) {
          // Only with our own clock: really waiting out the longer ttl would slow every run.
          await s.waitUntil(start, longer + G + s.slack + 1)
          assert.equal(await get(storage, ns, k), undefined, 'the longer ttl never expired')
        }
      },
      s.waitingTimeout,
    )

    s.waiting(
      'restarts the expiry on overwrite with a shorter ttl',
      async ({ storage, ns, key }) => {
        const k = key()
        await set(storage, ns, k, 'first', { ttl: 20 * ttl })
        // The short ttl runs from the second write, not the first: a slow first write (a loaded machine, a cluster)
        // would otherwise end the wait before the second entry's expiry.
        const start = now()
        await set(storage, ns, k, 'second', { ttl })
        await s.waitUntil(start, late())
        assert.equal(await get(storage, ns, k), undefined, 'an overwrite with a shorter ttl kept the old one')
      },
      s.waitingTimeout,
    )
  })
}

/** add (optional in the contract: a storage without it has nothing to check here). */
export function addTests(s: Suite): void {
  const { ttl, G } = s
  s.describe('add', () => {
    s.test('writes when absent (true) and refuses when present (false)', async ({ storage, ns, key }) => {
      if (storage.add === undefined) return
      const k = key()
      assert.equal(await add(storage, ns, k, 'first'), true, 'add on an absent key must write')
      assert.equal((await get(storage, ns, k))?.value, 'first')
      assert.equal(await add(storage, ns, k, 'second'), false, 'add on a present key must refuse')
      assert.equal((await get(storage, ns, k))?.value, 'first', 'a refused add changed the value')
      // A refusal in another namespace must not happen: same key, other namespace, is absent.
      assert.equal(await add(storage, `${ns}-other`, k, 'other ns'), true)
      const u = key()
      assert.equal(await add(storage, ns, u, undefined), true)
      assert.equal(await add(storage, ns, u, 'x'), false, 'a cached undefined counts as present')
    })

    s.test('writes again after delete', async ({ storage, ns, key }) => {
      if (storage.add === undefined) return
      const k = key()
      assert.equal(await add(storage, ns, k, 'first'), true)
      assert.equal(await del(storage, ns, k), true)
      assert.equal(await add(storage, ns, k, 'second'), true, 'add after delete must write')
      assert.equal((await get(storage, ns, k))?.value, 'second')
    })

    s.waiting(
      'honours ttl and writes again after expiry',
      async ({ storage, ns, key }) => {
        if (storage.add === undefined) return
        const k = key()
        const start = now()
        assert.equal(await add(storage, ns, k, 'first', { ttl }), true)
        const entry = await get(storage, ns, k)
        s.assertLiveUnlessLate(entry, 'first', start, 'right after add')
        if (entry !== undefined) assert.ok(typeof entry.expiresAt === 'number', 'add with ttl must set expiresAt')
        await s.waitUntil(start, ttl + G + s.slack)
        assert.equal(await get(storage, ns, k), undefined, 'an entry written by add did not expire')
        assert.equal(await add(storage, ns, k, 'second'), true, 'add after expiry must write')
        assert.equal((await get(storage, ns, k))?.value, 'second')
      },
      s.waitingTimeout,
    )

    s.test('lets exactly one of many concurrent adds on one key win', async ({ storage, ns, key }) => {
      if (storage.add === undefined) return
      for (let round = 0; round < 3; round++) {
        const k = key()
        const contenders = Array.from({ length: 25 }, (_, i) => ({ round, contender: i }))
        const results = await Promise.all(contenders.map((v) => add(storage, ns, k, v)))
        const winners = results.flatMap((won, i) => (won ? [i] : []))
        assert.equal(winners.length, 1, `expected exactly one winner, got ${winners.length}`)
        assert.deepEqual((await get(storage, ns, k))?.value, contenders[winners[0] as number])
      }
    })
  })
}
