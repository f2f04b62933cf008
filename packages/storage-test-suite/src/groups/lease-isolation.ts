import assert from 'node:assert/strict'
import { del, get, type Suite, set } from '../harness'
import { acquire, HOLD, release, setIfLeased, token } from '../lease-calls'

/** Keys a backend might build its lease key from: none may share a lease or an entry with the base key. */
const lookalikes = (k: string): string[] => [
  `${k}:lease`,
  `${k}:lock`,
  `${k}:l`,
  `${k}.lease`,
  `${k}\u0000`,
  `${k}\u0000lease`,
  `{${k}}`,
  `${k}{x}`,
  `lease:${k}`,
  `lease\u0000${k}`,
  ':lease',
  '\u0000',
  '{x}',
  `${k}:`,
  `${k}:lease:lease`,
]

/** Namespaces and keys keep leases apart, whatever they look like. */
export function leaseIsolationTests(s: Suite): void {
  s.test('namespaces isolate leases, also namespaces that share a prefix', async (ctx) => {
    const { storage, ns } = ctx
    const k = ctx.key()
    const spaces = [ns, `${ns}s`, `${ns}:x`, `${ns}:`, `${ns}\u0000`, `${ns}:lease`, ns.toUpperCase()]
    const tokens = spaces.map(() => token())
    for (const [i, n] of spaces.entries()) {
      const won = await acquire(storage, n, k, tokens[i] as string, HOLD)
      assert.equal(won, true, `namespace ${JSON.stringify(n)}: a lease of another namespace blocked it`)
    }
    assert.equal(await release(storage, spaces[1] as string, k, tokens[0] as string), false, 'released across ns')
    assert.equal(await setIfLeased(storage, spaces[2] as string, k, 'x', tokens[0] as string), false, 'wrote across ns')
    assert.equal(await get(storage, spaces[2] as string, k), undefined, 'wrote across namespaces')
    // A delete in one namespace removes that namespace's lease only: it acquires anew, the first still holds.
    assert.equal(await del(storage, spaces[3] as string, k), false)
    assert.equal(await acquire(storage, spaces[3] as string, k, token(), HOLD), true, 'delete left the lease')
    assert.equal(await setIfLeased(storage, ns, k, 'mine', tokens[0] as string), true, 'a delete in another ns fenced')
    for (const [i, n] of spaces.entries()) {
      if (i === 0) continue
      const held = await acquire(storage, n, k, token(), HOLD)
      assert.equal(held, false, `namespace ${JSON.stringify(n)}: lost its lease to the first namespace's write`)
      assert.equal(await get(storage, n, k), undefined, `namespace ${JSON.stringify(n)} sees another's entry`)
    }
  })

  s.test('keys that look like lease keys never collide with leases (:lease, NUL, {x} …)', async (ctx) => {
    const { storage, ns } = ctx
    const k = ctx.key()
    const others = lookalikes(k)
    const holder = token()
    assert.equal(await acquire(storage, ns, k, holder, HOLD), true)
    for (const o of others) {
      assert.equal(await get(storage, ns, o), undefined, `the lease on ${JSON.stringify(k)} reads as entry ${o}`)
      assert.equal(await acquire(storage, ns, o, holder, HOLD), true, `${JSON.stringify(o)} shares a lease with k`)
      await set(storage, ns, o, { o })
    }
    assert.equal(await get(storage, ns, k), undefined, 'an entry of a lookalike key reads as the base key')
    assert.equal(await acquire(storage, ns, k, token(), HOLD), false, 'writing lookalike keys freed the lease')
    assert.equal(await setIfLeased(storage, ns, k, 'base', holder), true)
    for (const o of others) {
      assert.deepEqual((await get(storage, ns, o))?.value, { o }, `the fenced write of k changed ${JSON.stringify(o)}`)
      assert.equal(await acquire(storage, ns, o, token(), HOLD), false, `the fenced write of k freed ${o}'s lease`)
    }
    // The other way round: the base key's lease and entry outlive deleting the lookalikes.
    const again = token()
    assert.equal(await acquire(storage, ns, k, again, HOLD), true)
    for (const o of others) assert.equal(await del(storage, ns, o), true, `delete ${JSON.stringify(o)}`)
    assert.equal((await get(storage, ns, k))?.value, 'base', 'deleting a lookalike key removed the base entry')
    assert.equal(await acquire(storage, ns, k, token(), HOLD), false, 'deleting a lookalike key freed the lease')
    for (const o of others) {
      assert.equal(await setIfLeased(storage, ns, o, 'late', holder), false, `${JSON.stringify(o)}: delete kept lease`)
    }
    assert.equal(await release(storage, ns, k, again), true)
  })
}
