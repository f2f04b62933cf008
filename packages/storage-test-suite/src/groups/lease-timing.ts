import assert from 'node:assert/strict'
import { get, now, type Suite, set } from '../harness'
import { acquire, extend, HOLD, release, setIfLeased, token } from '../lease-calls'

/** Lease expiry, extension, and what an expired holder can no longer do. */
export function leaseTimingTests(s: Suite): void {
  const { G } = s
  const roundUp = (ms: number): number => Math.ceil(ms / G) * G
  // Short when really waiting (a lapse must be quick to test), a round second on an advanced clock.
  const ttl = roundUp(s.fakeTime ? Math.max(1000, 2 * G) : Math.max(300, 2 * G))
  const lapsed = ttl + G + s.slack
  const timeout = 20_000 + 12 * ttl
  /** Whether `start + ms` has already passed (a loaded runner came too late to check what holds before it). */
  const late = (start: number, ms: number): boolean => now() - start >= ms - G

  s.waiting(
    `a lease lapses after its ttl (${ttl} ms): the old holder can no longer extend, release or write`,
    async (ctx) => {
      const { storage, ns } = ctx
      const [k, taken, withEntry] = [ctx.key(), ctx.key(), ctx.key()]
      const holder = token()
      await set(storage, ns, withEntry, 'old')
      const start = now()
      for (const key of [k, taken, withEntry]) assert.equal(await acquire(storage, ns, key, holder, ttl), true)
      // The storage stamps the deadline somewhere within the call: it lapses ttl after the call began at the
      // earliest, and ttl after it returned at the latest.
      const acquired = now()
      await s.waitUntil(start, ttl / 2)
      const probe = token()
      const early = await acquire(storage, ns, taken, probe, HOLD)
      if (!late(start, ttl)) assert.equal(early, false, `a lease lapsed ${now() - start} ms into its ${ttl} ms ttl`)
      // Too late to tell: the probe came after the lease lapsed and took it. Freed again, so what follows checks
      // the storage, not the probe's own lease.
      if (early) assert.equal(await release(storage, ns, taken, probe), true, 'a lease holder could not release')
      await s.waitUntil(acquired, lapsed)
      assert.equal(
        await acquire(storage, ns, taken, token(), HOLD),
        true,
        `a ${ttl} ms lease still held after ${lapsed}`,
      )
      assert.equal(await release(storage, ns, taken, holder), false, 'the old holder released a lease taken over')
      assert.equal(await extend(storage, ns, k, holder, HOLD), false, 'an expired lease was extended')
      assert.equal(await release(storage, ns, k, holder), false, 'an expired lease was released')
      for (const key of [k, withEntry]) {
        assert.equal(await setIfLeased(storage, ns, key, 'late', holder), false, 'an expired lease wrote')
      }
      assert.equal(await get(storage, ns, k), undefined, 'an expired lease wrote')
      assert.equal((await get(storage, ns, withEntry))?.value, 'old', 'an expired lease changed the entry')
    },
    timeout,
  )

  s.waiting(
    'extendLease before expiry restarts the lease at ttl from then, past its first ttl',
    async (ctx) => {
      const { storage, ns } = ctx
      // A loaded runner may call extend too late to count; it then tries again on a fresh key.
      for (let attempt = 1; ; attempt++) {
        const k = ctx.key()
        const holder = token()
        const start = now()
        assert.equal(await acquire(storage, ns, k, holder, ttl), true)
        const acquired = now()
        await s.waitUntil(start, ttl / 2)
        const extendedAt = now()
        const extended = await extend(storage, ns, k, holder, 2 * ttl)
        const extendReturned = now()
        if (!extended && late(start, ttl) && attempt < 5) continue
        assert.equal(extended, true, `the holder could not extend ${now() - start} ms into a ${ttl} ms lease`)
        await s.waitUntil(acquired, lapsed)
        const stolen = await acquire(storage, ns, k, token(), HOLD)
        if (stolen && late(extendedAt, 2 * ttl) && attempt < 5) continue
        assert.equal(stolen, false, 'an extended lease lapsed at its first ttl')
        await s.waitUntil(extendReturned, 2 * ttl + lapsed - ttl)
        assert.equal(await setIfLeased(storage, ns, k, 'late', holder), false, 'the extended ttl never lapsed')
        assert.equal(await acquire(storage, ns, k, token(), HOLD), true, 'the extended ttl never lapsed')
        return
      }
    },
    timeout,
  )

  s.waiting(
    'after expiry, of the old holder and 8 racing contenders at most one write lands: the one acquire winner',
    async (ctx) => {
      const { storage, ns } = ctx
      for (const withEntry of [false, true]) {
        const k = ctx.key()
        const holder = token()
        if (withEntry) await set(storage, ns, k, 'old')
        assert.equal(await acquire(storage, ns, k, holder, ttl), true)
        await s.waitUntil(now(), lapsed)
        const contenders = Array.from({ length: 8 }, (_, i) => ({ i, tok: token() }))
        // All acquires first, racing the old holder: a fenced write ends the lease, so an acquire issued after
        // one may legitimately win again.
        const oldHolder = () => [
          setIfLeased(storage, ns, k, { i: 'old holder' }, holder),
          release(storage, ns, k, holder),
        ]
        const racing = oldHolder()
        const won = await Promise.all(contenders.map(({ tok }) => acquire(storage, ns, k, tok, HOLD)))
        assert.deepEqual(await Promise.all(racing), [false, false], 'the expired holder wrote or released')
        const winners = won.flatMap((w, i) => (w ? [i] : []))
        assert.equal(winners.length, 1, `${winners.length} contenders acquired one lease`)
        const racingWrites = oldHolder()
        const wrote = await Promise.all(contenders.map(({ i, tok }) => setIfLeased(storage, ns, k, { i }, tok)))
        assert.deepEqual(await Promise.all(racingWrites), [false, false], 'the expired holder wrote or released')
        const writers = wrote.flatMap((w, i) => (w ? [i] : []))
        assert.deepEqual(writers, winners, 'a write landed that did not hold the lease')
        assert.deepEqual((await get(storage, ns, k))?.value, { i: winners[0] }, 'the winner’s write is not what reads')
      }
    },
    timeout,
  )
}
