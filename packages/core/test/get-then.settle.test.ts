// The settling rule of a read-and-continue read (GET_THEN), shared by the Redis and memcached hits: a value goes
// through onValue, a failure through onError, each settling the read's promise with what the callback returns or
// throws; without a callback the value resolves and the failure rejects.
import { describe, expect, it } from '@jest/globals'
import { settleFailure, settleValue } from '@memokit/core/backend'

/** A read's promise and the resolve/reject a backend would hand the helpers. */
function read(): { promise: Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void } {
  let resolve!: (v: unknown) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<unknown>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('settleValue', () => {
  it('resolves with the value when there is no onValue', async () => {
    const r = read()
    settleValue({ id: 1 }, undefined, r.resolve, r.reject)
    await expect(r.promise).resolves.toEqual({ id: 1 })
  })

  it("resolves with onValue's result, which gets the value", async () => {
    const r = read()
    const seen: unknown[] = []
    settleValue(
      7,
      (v) => {
        seen.push(v)
        return `served ${v}`
      },
      r.resolve,
      r.reject,
    )
    await expect(r.promise).resolves.toBe('served 7')
    expect(seen).toEqual([7])
  })

  it('rejects with what onValue throws', async () => {
    const r = read()
    const thrown = new Error('from onValue')
    settleValue(
      7,
      () => {
        throw thrown
      },
      r.resolve,
      r.reject,
    )
    await expect(r.promise).rejects.toBe(thrown)
  })
})

describe('settleFailure', () => {
  it('rejects with the failure when there is no onError', async () => {
    const r = read()
    const failure = new Error('connection lost')
    settleFailure(failure, undefined, r.resolve, r.reject)
    await expect(r.promise).rejects.toBe(failure)
  })

  it("resolves with onError's result, which gets the failure", async () => {
    const r = read()
    const failure = new Error('timed out')
    const seen: unknown[] = []
    settleFailure(
      failure,
      (e) => {
        seen.push(e)
        return 'computed instead'
      },
      r.resolve,
      r.reject,
    )
    await expect(r.promise).resolves.toBe('computed instead')
    expect(seen).toEqual([failure])
  })

  it('rejects with what onError throws', async () => {
    const r = read()
    const thrown = new Error('from onError')
    settleFailure(
      new Error('read failed'),
      () => {
        throw thrown
      },
      r.resolve,
      r.reject,
    )
    await expect(r.promise).rejects.toBe(thrown)
  })
})
