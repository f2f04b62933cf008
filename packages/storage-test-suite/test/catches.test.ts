// The suite's own checks must fail on storages that break the contract: each broken storage below violates one
// rule, and the test for that rule must reject while a healthy storage passes it. Tests are collected through a
// minimal runner and run here directly.
import { describe, expect, it } from '@jest/globals'
import { memoryStorage } from '@memokit/core'
import { runStorageContract, type StorageContractOptions } from '@memokit/storage-test-suite'
import { asyncOver, collect, outcome } from './recording'

const healthy: StorageContractOptions = { name: 'memory', create: () => memoryStorage() }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the contract suite fails a storage that', () => {
  it('drops meta, or returns meta it was not given', async () => {
    const drops = {
      name: 'drops meta',
      create: () => {
        const mem = memoryStorage()
        return asyncOver(mem, { set: async (ns, key, value, o) => mem.set(ns, key, value, { ttl: o?.ttl }) })
      },
    }
    const invents = {
      name: 'invents meta',
      create: () => {
        const mem = memoryStorage()
        return asyncOver(mem, {
          get: async (ns, key) => {
            const entry = mem.get(ns, key)
            return entry && { ...entry, meta: entry.meta ?? {} }
          },
        })
      },
    }
    const roundTrip = 'meta › comes back equal to what was written, for every JSON shape'
    expect(await outcome(healthy, roundTrip)).toBe('passes')
    expect(await outcome(drops, roundTrip)).toMatch(/read back different/)
    expect(await outcome(invents, 'meta › is absent when the write had none')).toMatch(/returned meta \{\}/)
  })

  it('lets a set issued before a delete or clear land after it', async () => {
    // The write finishes a little later than the invalidation that was issued after it.
    const late = {
      name: 'late writes',
      create: () => {
        const mem = memoryStorage()
        return asyncOver(mem, {
          set: async (ns, key, value, options) => {
            await sleep(2)
            mem.set(ns, key, value, options)
          },
        })
      },
    }
    for (const test of [
      'invalidation after writes already issued › delete: once it resolves, a set issued before it never shows',
      'invalidation after writes already issued › clear: once it resolves, no set issued before it shows',
      'invalidation after writes already issued › clear with a keyPrefix: once it resolves, no matching set issued before it shows',
    ]) {
      expect(await outcome(healthy, test)).toBe('passes')
      expect(await outcome(late, test)).toMatch(/issued before|survived/)
    }
  })

  it('shares entries between objects without saying so through scope, or says so wrongly', async () => {
    const shared = memoryStorage()
    const test = 'scope › is equal for two storages created with one prefix exactly when they share entries'
    expect(await outcome(healthy, test)).toBe('passes')
    const silent = { name: 'no scope', create: () => asyncOver(shared) }
    expect(await outcome(silent, test)).toMatch(/must say so with equal scopes/)
    let n = 0
    const differing = { name: 'own scopes', create: () => ({ ...asyncOver(shared), scope: `mem#${n++}` }) }
    expect(await outcome(differing, test)).toMatch(/share entries have different scopes/)
    const equal = { name: 'one scope', create: () => ({ ...asyncOver(memoryStorage()), scope: 'mem' }) }
    expect(await outcome(equal, test)).toMatch(/do not share entries have the same scope/)
  })

  it('puts credentials in its scope, or gives two prefixes one scope', async () => {
    const url = (scope: string): StorageContractOptions => ({
      name: 'scoped',
      create: () => ({ ...asyncOver(), scope }),
      scope: { secrets: ['hunter2'] },
    })
    const test = 'scope › is absent or a non-empty string without credentials'
    expect(await outcome(url('redis://10.0.0.1:6379/0 p'), test)).toBe('passes')
    expect(await outcome(url('redis://app:pw@10.0.0.1:6379/0 p'), test)).toMatch(/user:password@/)
    expect(await outcome(url('redis://10.0.0.1/0?token=hunter2'), test)).toMatch(/secret "hunter2"/)
    const onePlace: StorageContractOptions = { name: 'one place', create: () => ({ ...asyncOver(), scope: 'x' }) }
    expect(await outcome(onePlace, 'scope › differs between storages with different prefixes')).toMatch(
      /prefixes share a scope/,
    )
  })

  it('is not where createSame / createElsewhere say it is', async () => {
    const shared = memoryStorage()
    const options: StorageContractOptions = {
      name: 'places',
      create: () => ({ ...asyncOver(shared), scope: 'here' }),
      scope: {
        createSame: () => ({ ...asyncOver(memoryStorage()), scope: 'here' }),
        createElsewhere: () => ({ ...asyncOver(shared), scope: 'there' }),
      },
    }
    const tests = collect(options)
    expect([...tests.keys()].filter((name) => name.includes('createSame') || name.includes('createElsewhere'))).toEqual(
      [
        'scope › is equal, and entries are shared, for a storage created at the same place (createSame)',
        'scope › differs, and nothing is shared, for a storage in another place (createElsewhere)',
      ],
    )
    for (const name of tests.keys()) {
      if (name.includes('createSame')) expect(await outcome(options, name)).toMatch(/does not share entries/)
      if (name.includes('createElsewhere')) expect(await outcome(options, name)).toMatch(/shares entries/)
    }
    // Without the factories those tests aren't registered at all.
    expect([...collect(healthy).keys()].some((name) => name.includes('createSame'))).toBe(false)
  })
})

describe('runStorageContract options', () => {
  it.each([
    [{ scope: null }, /scope must be an object/],
    [{ scope: { createSame: 'x' } }, /must be functions/],
    [{ scope: { secrets: [''] } }, /secrets must be an array of non-empty strings/],
  ])('rejects %j', (patch, message) => {
    const runner = { describe: () => undefined, it: () => undefined }
    expect(() => runStorageContract(runner, { ...healthy, ...(patch as object) })).toThrow(message)
  })

  it('registers every group, each test once', () => {
    const names = [...collect(healthy).keys()]
    expect(new Set(names).size).toBe(names.length)
    const groups = new Set(names.map((name) => name.split(' › ')[0]))
    for (const group of ['shape', 'reads and writes', 'delete', 'add', 'clear', 'prefixes', 'concurrency', 'meta']) {
      expect(groups).toContain(group)
    }
    expect(groups).toContain('invalidation after writes already issued')
    expect(groups).toContain('scope')
    expect(groups).toContain('close')
  })
})
