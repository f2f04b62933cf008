import assert from 'node:assert/strict'
import { type Ctx, clear, del, get, isThenable, now, type Suite, set } from '../harness'
import { acquire, extend, HOLD, hasLeases, LEASE_MEMBER_NAMES, release, setIfLeased, token } from '../lease-calls'
import { leaseIsolationTests } from './lease-isolation'
import { leaseTimingTests } from './lease-timing'

/**
 * Leases (`acquireLease`, `releaseLease`, `extendLease`, `setIfLeased`), when the options say `leases: true`.
 * Without it, only the rule "all four or none" is checked.
 */
export function leaseTests(s: Suite): void {
  if (s.options.leases !== true) {
    s.describe('leases (not claimed)', () => {
      s.test('has all four lease members or none', async ({ storage }) => {
        assert.notEqual(hasLeases(storage), undefined, `a storage has all of ${LEASE_MEMBER_NAMES.join(', ')} or none`)
      })
    })
    return
  }
  s.describe('leases', () => {
    s.test('has all four lease members, answering plainly when sync and with promises when async', async (ctx) => {
      const { storage, ns } = ctx
      for (const name of LEASE_MEMBER_NAMES) {
        assert.equal(typeof (storage as unknown as Record<string, unknown>)[name], 'function', `no ${name}()`)
      }
      const k = ctx.key()
      const t = token()
      const calls = storage as unknown as Record<(typeof LEASE_MEMBER_NAMES)[number], (...a: unknown[]) => unknown>
      const results: Array<[string, unknown]> = [
        ['acquireLease', calls.acquireLease(ns, k, t, HOLD)],
        ['extendLease', calls.extendLease(ns, k, t, HOLD)],
        ['releaseLease', calls.releaseLease(ns, k, t)],
        ['setIfLeased', calls.setIfLeased(ns, k, 'x', t, undefined)],
      ]
      for (const [op, result] of results) {
        if (storage.async) assert.ok(isThenable(result), `async storage: ${op}() must return a promise`)
        else assert.ok(!isThenable(result), `sync storage: ${op}() must not return a promise`)
        assert.equal(typeof (await result), 'boolean', `${op}() must answer a boolean`)
      }
    })
    holdTests(s)
    fenceTests(s)
    leaseIsolationTests(s)
    leaseTimingTests(s)
  })
}

/** Taking, holding, releasing and extending a lease, also under concurrency. */
function holdTests(s: Suite): void {
  s.test('acquire wins on a free key; while held, no token acquires (not even the holder)', async (ctx) => {
    const { storage, ns } = ctx
    for (const length of [16, 32, 64]) {
      const k = ctx.key()
      const holder = token(length)
      assert.equal(await acquire(storage, ns, k, holder, HOLD), true, `a free key must lease (token of ${length})`)
      assert.equal(await acquire(storage, ns, k, token(length), HOLD), false, 'another token acquired a held lease')
      assert.equal(await acquire(storage, ns, k, holder, HOLD), false, 'the holder acquired its own lease again')
      assert.equal(await release(storage, ns, k, holder), true, 'the holder could not release')
    }
  })

  s.test('exactly one of 20 concurrent acquires wins; of two concurrent releases, exactly one', async (ctx) => {
    const { storage, ns } = ctx
    for (let round = 0; round < 3; round++) {
      const k = ctx.key()
      const tokens = Array.from({ length: 20 }, () => token())
      const won = await Promise.all(tokens.map((t) => acquire(storage, ns, k, t, HOLD)))
      const winners = tokens.filter((_, i) => won[i])
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} of 20 concurrent acquires won`)
      const holder = winners[0] as string
      const released = await Promise.all([release(storage, ns, k, holder), release(storage, ns, k, holder)])
      assert.equal(released.filter(Boolean).length, 1, `round ${round}: releases answered ${released.join(', ')}`)
    }
  })

  s.test('release and extend with a foreign token fail and keep the lease; the holder can', async (ctx) => {
    const { storage, ns } = ctx
    const k = ctx.key()
    const holder = token()
    const stranger = token()
    assert.equal(await acquire(storage, ns, k, holder, HOLD), true)
    assert.equal(await release(storage, ns, k, stranger), false, 'a foreign token released the lease')
    assert.equal(await extend(storage, ns, k, stranger, HOLD), false, 'a foreign token extended the lease')
    assert.equal(await acquire(storage, ns, k, stranger, HOLD), false, 'the lease was lost to a foreign call')
    assert.equal(await extend(storage, ns, k, holder, HOLD), true, 'the holder could not extend')
    assert.equal(await release(storage, ns, k, holder), true, 'the holder could not release')
    assert.equal(await release(storage, ns, k, holder), false, 'a released lease was released again')
    assert.equal(await extend(storage, ns, k, holder, HOLD), false, 'a released lease was extended')
    assert.equal(await acquire(storage, ns, k, stranger, HOLD), true, 'after release, another token must acquire')
  })

  s.test('a lease without an entry is invisible to get and delete; over an entry it changes nothing', async (ctx) => {
    const { storage, ns } = ctx
    const bare = ctx.key()
    assert.equal(await acquire(storage, ns, bare, token(), HOLD), true)
    assert.equal(await get(storage, ns, bare), undefined, 'a lease reads as an entry')
    if (storage.add !== undefined) {
      const other = ctx.key()
      assert.equal(await acquire(storage, ns, other, token(), HOLD), true)
      assert.equal(await storage.add(ns, other, 'added'), true, 'a lease without an entry blocked add')
    }
    assert.equal(await del(storage, ns, bare), false, 'delete of a key with only a lease must answer false')
    const k = ctx.key()
    const start = now()
    await set(storage, ns, k, { old: true }, { ttl: HOLD, meta: { promise: true } })
    const before = await get(storage, ns, k)
    const t = token()
    assert.equal(await acquire(storage, ns, k, t, HOLD), true, 'an entry blocked acquiring its lease')
    assert.deepEqual(await get(storage, ns, k), before, 'acquiring changed the entry')
    assert.equal(await release(storage, ns, k, t), true)
    assert.deepEqual(await get(storage, ns, k), before, 'releasing changed the entry')
    assert.ok(before !== undefined && (before.expiresAt as number) >= start + HOLD - s.stampTolerance)
    assert.equal(await acquire(storage, ns, k, t, HOLD), true)
    assert.equal(await del(storage, ns, k), true, 'delete of a leased entry must answer per the entry: true')
  })
}

/** The holder's write and what fences it out: a foreign token, delete, clear. */
function fenceTests(s: Suite): void {
  s.test('setIfLeased with the holder token writes as set would and ends the lease', async (ctx) => {
    const { storage, ns } = ctx
    const k = ctx.key()
    const holder = token()
    const ttl = 10 * HOLD
    const meta = { promise: true, staleAt: 1_900_000_000_000, tags: { a: 'x' } }
    assert.equal(await acquire(storage, ns, k, holder, HOLD), true)
    const start = now()
    assert.equal(await setIfLeased(storage, ns, k, { v: 1 }, holder, { ttl, meta }), true, 'the holder could not write')
    const end = now()
    const entry = await get(storage, ns, k)
    assert.deepEqual(entry?.value, { v: 1 }, 'setIfLeased wrote nothing')
    assert.deepEqual(entry?.meta, meta, 'setIfLeased must keep meta like set')
    const tol = s.stampTolerance
    assert.ok(entry !== undefined && entry.createdAt >= start - tol && entry.createdAt <= end + tol, 'createdAt')
    const expiresAt = entry.expiresAt as number
    assert.ok(expiresAt >= start + ttl - tol && expiresAt <= end + ttl + tol, `expiresAt ${expiresAt} is off`)
    assert.equal(await setIfLeased(storage, ns, k, { v: 2 }, holder), false, 'the lease survived its fenced write')
    assert.deepEqual((await get(storage, ns, k))?.value, { v: 1 }, 'a refused setIfLeased wrote')
    assert.equal(await release(storage, ns, k, holder), false, 'the lease survived its fenced write')
    assert.equal(await acquire(storage, ns, k, token(), HOLD), true, 'after the fenced write another must acquire')
    const plain = ctx.key()
    assert.equal(await acquire(storage, ns, plain, holder, HOLD), true)
    assert.equal(await setIfLeased(storage, ns, plain, undefined, holder), true)
    const bare = await get(storage, ns, plain)
    assert.ok(bare !== undefined && bare.value === undefined, 'a fenced write of undefined must read as an entry')
    assert.equal(bare.expiresAt, undefined, 'a fenced write without ttl must not expire')
  })

  s.test('setIfLeased with a foreign token or without a lease writes nothing', async (ctx) => {
    const { storage, ns } = ctx
    const [fresh, existing, free] = [ctx.key(), ctx.key(), ctx.key()]
    const holder = token()
    await set(storage, ns, existing, 'old')
    for (const k of [fresh, existing]) assert.equal(await acquire(storage, ns, k, holder, HOLD), true)
    for (const k of [fresh, existing]) {
      assert.equal(await setIfLeased(storage, ns, k, 'intruder', token()), false, 'a foreign token wrote')
    }
    assert.equal(await setIfLeased(storage, ns, free, 'intruder', holder), false, 'wrote without any lease')
    assert.equal(await get(storage, ns, fresh), undefined, 'a refused setIfLeased wrote')
    assert.equal(await get(storage, ns, free), undefined, 'a refused setIfLeased wrote')
    assert.equal((await get(storage, ns, existing))?.value, 'old', 'a refused setIfLeased changed the entry')
    for (const k of [fresh, existing]) {
      assert.equal(await setIfLeased(storage, ns, k, 'mine', holder), true, 'a refused write ended the lease')
      assert.equal((await get(storage, ns, k))?.value, 'mine')
    }
  })

  s.test('delete removes the lease: the holder can no longer write, another token acquires', async (ctx) => {
    const { storage, ns } = ctx
    for (const withEntry of [false, true]) {
      const k = ctx.key()
      const holder = token()
      if (withEntry) await set(storage, ns, k, 'old')
      assert.equal(await acquire(storage, ns, k, holder, HOLD), true)
      assert.equal(await del(storage, ns, k), withEntry, 'delete must answer per the entry only')
      assert.equal(await setIfLeased(storage, ns, k, 'late', holder), false, 'a write fenced by delete landed')
      assert.equal(await get(storage, ns, k), undefined, 'a write fenced by delete landed')
      assert.equal(await release(storage, ns, k, holder), false, 'delete left the lease')
      assert.equal(await acquire(storage, ns, k, token(), HOLD), true, 'delete left the lease')
    }
  })

  s.test(
    'clear(ns) and clear(ns, prefix of the key) remove leases; other prefixes and namespaces keep them',
    clearFences,
  )
}

/** For each clear that covers the key: other clears keep the lease first, then this one fences the holder out. */
async function clearFences(ctx: Ctx): Promise<void> {
  const { storage, ns } = ctx
  const base = `fn:${ctx.key()}`
  const keeping = ['fx:', `${base}:`, `${base}\u0000`, `${base}x`, 'fn:*', 'Fn:']
  const removing: Array<string | undefined> = ['fn:', base, '', 'f', undefined]
  for (const [i, prefix] of removing.entries()) {
    const k = `${base}:${i}`.slice(0, prefix === base ? base.length : undefined)
    const holder = token()
    await set(storage, ns, k, 'old')
    assert.equal(await acquire(storage, ns, k, holder, HOLD), true, `round ${i}: acquire`)
    for (const other of keeping) {
      if (k.startsWith(other)) continue
      await clear(storage, ns, other)
      assert.equal(
        await acquire(storage, ns, k, token(), HOLD),
        false,
        `clear(ns, ${JSON.stringify(other)}) freed ${k}`,
      )
    }
    await clear(storage, `${ns}-other`)
    await clear(storage, `${ns}-other`, k)
    assert.equal(await acquire(storage, ns, k, token(), HOLD), false, 'clearing another namespace freed the lease')
    await clear(storage, ns, prefix)
    const what = prefix === undefined ? 'clear(ns)' : `clear(ns, ${JSON.stringify(prefix)})`
    assert.equal(await get(storage, ns, k), undefined, `${what} left the entry ${k}`)
    assert.equal(await setIfLeased(storage, ns, k, 'late', holder), false, `${what}: a fenced-out write landed`)
    assert.equal(await get(storage, ns, k), undefined, `${what}: a fenced-out write landed`)
    assert.equal(await acquire(storage, ns, k, token(), HOLD), true, `${what} left the lease on ${k}`)
  }
}
