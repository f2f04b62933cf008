// Adversarial probes of cacheReference: concurrent first calls, failed inits, .delete/.clear racing a factory.
import { describe, expect, it, jest } from '@jest/globals'
import { cacheReference } from '@memokit/core'

const deferred = <T>() => {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('cacheReference, adversarially', () => {
  it('a .delete while the async factory runs disposes its object once, and the next call creates a new one', async () => {
    const gates: ReturnType<typeof deferred<object>>[] = []
    const dispose = jest.fn()
    const ref = cacheReference(
      async (_id: string) => {
        const gate = deferred<object>()
        gates.push(gate)
        return gate.promise
      },
      { dispose },
    )
    const first = ref('a')
    const deleted = ref.delete('a')
    const second = ref('a')
    expect(second).not.toBe(first)
    const one = { n: 1 }
    gates[0]?.resolve(one)
    expect(await deleted).toBe(true)
    expect(dispose).toHaveBeenCalledTimes(1)
    expect(dispose).toHaveBeenCalledWith(one)
    const two = { n: 2 }
    gates[1]?.resolve(two)
    expect(await second).toBe(two)
    expect(await ref('a')).toBe(two)
  })

  it('a .clear racing a factory that then fails: no dispose, and the next call retries', async () => {
    let calls = 0
    const dispose = jest.fn()
    const gate = deferred<object>()
    const ref = cacheReference(
      (id: string) => {
        calls++
        return calls === 1 ? gate.promise : Promise.resolve({ id })
      },
      { dispose },
    )
    const first = ref('a')
    const cleared = ref.clear()
    gate.reject(new Error('boom'))
    await expect(first).rejects.toThrow('boom')
    await cleared
    expect(dispose).not.toHaveBeenCalled()
    expect(await ref('a')).toEqual({ id: 'a' })
    expect(calls).toBe(2)
  })

  it('a failed init rejected to the caller is not what a retry in its catch gets', async () => {
    let calls = 0
    const ref = cacheReference(async (id: string) => {
      calls++
      if (calls === 1) throw new Error('first')
      return { id }
    })
    const got = await ref('a').catch(() => ref('a'))
    expect(got).toEqual({ id: 'a' })
  })

  it('a sync factory that throws is retried by the next call', () => {
    let calls = 0
    const ref = cacheReference((id: string) => {
      calls++
      if (calls === 1) throw new Error('first')
      return { id }
    })
    expect(() => ref('a')).toThrow('first')
    expect(ref('a')).toEqual({ id: 'a' })
  })
})
