// Adversarial probes of what the wrappers' helpers return for an argument that can't be a key: where the type says
// Promise (an async storage, or an async function), the KeyError must be a rejection, not a synchronous throw that
// `.catch()` never sees (these failed before the fix committed with them). And the runtime behind createMemokit's
// `storage: undefined` overloads (adversarial-types.typetest.ts): sync wrappers.
import { describe, expect, it } from '@jest/globals'
import { cacheReference, cacheValue, createMemokit, KeyError, memoryStorage } from '@memokit/core'
import { faultyStorage, uniqueNamespace } from './helpers'

class Unkeyable {}

/** What `run` produced: a synchronous throw, or the settled Promise it returned. */
async function outcome(run: () => unknown): Promise<'threw' | 'rejected' | 'resolved'> {
  let result: unknown
  try {
    result = run()
  } catch {
    return 'threw'
  }
  expect(result).toBeInstanceOf(Promise)
  return (result as Promise<unknown>).then(
    () => 'resolved',
    (error: unknown) => {
      expect(error).toBeInstanceOf(KeyError)
      return 'rejected'
    },
  )
}

describe('a bad argument where the result is a Promise', () => {
  it('over an async storage: the call, .refresh and .delete all reject', async () => {
    const f = cacheValue((x: unknown) => x, {
      name: 'overAsync',
      namespace: uniqueNamespace(),
      storage: faultyStorage(true).storage,
    })
    const bad = new Unkeyable()
    expect(await outcome(() => f(bad))).toBe('rejected')
    expect(await outcome(() => f.refresh(bad))).toBe('rejected')
    expect(await outcome(() => f.delete(bad))).toBe('rejected')
  })

  it('an async function over a sync storage: the call and .refresh reject (.delete is sync there and throws)', async () => {
    const f = cacheValue(async (x: unknown) => x, {
      name: 'asyncFn',
      namespace: uniqueNamespace(),
      storage: memoryStorage(),
    })
    const bad = new Unkeyable()
    expect(await outcome(() => f(bad))).toBe('rejected')
    expect(await outcome(() => f.refresh(bad))).toBe('rejected')
    expect(() => f.delete(bad)).toThrow(KeyError)
  })

  it('cacheReference with an async factory: the call and .delete reject; a sync factory throws', async () => {
    const bad = new Unkeyable()
    const connect = cacheReference(async (x: unknown) => ({ x }))
    expect(await outcome(() => connect(bad))).toBe('rejected')
    expect(await outcome(() => connect.delete(bad))).toBe('rejected')
    const make = cacheReference((x: unknown) => ({ x }))
    expect(() => make(bad)).toThrow(KeyError)
  })
})

describe('createMemokit over an async default storage, with storage: undefined per call', () => {
  it('gives sync wrappers and sync decorated methods, as their types say', () => {
    const remote = createMemokit({ storage: faultyStorage(true).storage })
    const add = remote.cacheValue((a: number, b: number) => a + b, {
      storage: undefined,
      namespace: uniqueNamespace(),
      name: 'add',
    })
    expect(add(1, 2)).toBe(3)
    expect(add.delete(1, 2)).toBe(true)
    class Local {
      @remote.cached({ storage: undefined })
      m(): number {
        return 1
      }
    }
    expect(new Local().m()).toBe(1)
  })
})
