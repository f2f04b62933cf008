import assert from 'node:assert/strict'
import type { AnyStorage } from '@memokit/core'
import { type Ctx, get, rand, type Suite, set } from '../harness'

// `scheme://user:password@host`: a credential inside a URL.
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i

/** Whether `b` reads what `a` writes, and the other way round: the two storages write to one place. */
async function shares(ctx: Ctx, a: AnyStorage, b: AnyStorage): Promise<boolean> {
  const there = ctx.key('share')
  const back = ctx.key('share')
  await set(a, ctx.ns, there, 'from a')
  await set(b, ctx.ns, back, 'from b')
  const forward = (await get(b, ctx.ns, there))?.value === 'from a'
  const backward = (await get(a, ctx.ns, back))?.value === 'from b'
  assert.equal(forward, backward, 'one storage reads the other’s entries but not the other way round')
  return forward
}

const label = (scope: string | undefined): string => (scope === undefined ? 'no scope' : JSON.stringify(scope))

/**
 * `Storage.scope` names where a storage writes: two storages read each other's entries exactly when their scopes
 * are equal, and a storage without one must not share its entries with any other storage object (core then keys
 * its duplicate-name guard on the object itself).
 */
export function scopeTests(s: Suite): void {
  const { secrets = [], createSame, createElsewhere } = s.options.scope ?? {}
  s.describe('scope', () => {
    s.test('is absent or a non-empty string without credentials', async ({ storage }) => {
      const { scope } = storage
      if (scope === undefined) return
      assert.equal(typeof scope, 'string', 'scope must be a string')
      assert.ok(scope.length > 0, 'scope must not be empty')
      assert.ok(!URL_CREDENTIALS.test(scope), `scope ${JSON.stringify(scope)} holds a user:password@ part`)
      for (const secret of secrets) {
        assert.ok(!scope.includes(secret), `scope ${JSON.stringify(scope)} holds the secret ${JSON.stringify(secret)}`)
      }
    })

    s.test('is equal for two storages created with one prefix exactly when they share entries', async (ctx) => {
      const other = await ctx.open(ctx.prefix)
      const shared = await shares(ctx, ctx.storage, other)
      const [a, b] = [ctx.storage.scope, other.scope]
      assert.equal(a === undefined, b === undefined, `create() returned storages with ${label(a)} and ${label(b)}`)
      if (a === undefined) {
        assert.ok(!shared, 'storages that read each other’s entries must say so with equal scopes (Storage.scope)')
      } else if (shared) {
        assert.equal(b, a, 'two storages that share entries have different scopes')
      } else {
        assert.notEqual(b, a, 'two storages that do not share entries have the same scope')
      }
    })

    s.test('differs between storages with different prefixes', async (ctx) => {
      const base = `mk-suite-${rand()}`
      const storages = [ctx.storage]
      for (const p of [base, `${base}:q`, `${base}*`, `${base}s`, `${base}%3Aq`]) storages.push(await ctx.open(p))
      const scopes = storages.map((st) => st.scope)
      if (scopes[0] === undefined) return // each object is its own place: nothing to compare
      assert.equal(new Set(scopes).size, scopes.length, `prefixes share a scope: ${scopes.map(label).join(', ')}`)
    })

    if (createSame !== undefined) {
      s.test('is equal, and entries are shared, for a storage created at the same place (createSame)', async (ctx) => {
        const same = await ctx.open(ctx.prefix, createSame)
        assert.ok(await shares(ctx, ctx.storage, same), 'the createSame storage does not share entries')
        assert.ok(ctx.storage.scope !== undefined, 'storages that share entries must declare a scope')
        assert.equal(same.scope, ctx.storage.scope, 'the createSame storage has another scope')
      })
    }

    if (createElsewhere !== undefined) {
      s.test('differs, and nothing is shared, for a storage in another place (createElsewhere)', async (ctx) => {
        const elsewhere = await ctx.open(ctx.prefix, createElsewhere)
        assert.ok(!(await shares(ctx, ctx.storage, elsewhere)), 'the createElsewhere storage shares entries')
        if (ctx.storage.scope !== undefined) {
          assert.notEqual(elsewhere.scope, ctx.storage.scope, 'the createElsewhere storage has the same scope')
        }
      })
    }
  })
}
