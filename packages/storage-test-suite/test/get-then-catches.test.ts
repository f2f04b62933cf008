// The read-and-continue group must fail a storage whose GET_THEN can answer differently from its get: core's hit
// path prefers GET_THEN, so such a storage would serve what get would not.
import { describe, expect, it } from '@jest/globals'
import { type AsyncStorage, type Entry, memoryStorage } from '@memokit/core'
import { GET_THEN, type GetThen } from '@memokit/core/backend'
import type { StorageContractOptions } from '@memokit/storage-test-suite'
import { asyncOver, outcome } from './recording'

type Read = (storage: AsyncStorage, ns: string, key: string) => Promise<Entry | undefined>

/** An async storage over memory whose GET_THEN reads with `read` and hands the result on as redis's does. */
function withGetThen(read: Read, callsOnErrorForThrows = false): StorageContractOptions {
  return {
    name: 'get-then',
    getThen: true,
    create: () => {
      const storage = asyncOver(memoryStorage())
      const getThen: GetThen = (ns, key, onEntry, onError) =>
        read(storage, ns, key).then((entry) => {
          if (!callsOnErrorForThrows) return onEntry(entry)
          try {
            return onEntry(entry)
          } catch (error) {
            return onError(error)
          }
        }, onError)
      return Object.assign(storage, { [GET_THEN]: getThen })
    },
  }
}

const plain: Read = (storage, ns, key) => storage.get(ns, key)
const groups = 'read-and-continue (GET_THEN)'
const kinds = `${groups} › hands onEntry what get returns, for every kind of value and meta`
const throws = `${groups} › what onEntry throws rejects the promise; onError is not called for it`
const random = `${groups} › agrees with get over random writes, deletes and clears`

describe('the contract suite fails a GET_THEN that', () => {
  it('passes a faithful GET_THEN', async () => {
    for (const test of [kinds, throws, random]) expect(await outcome(withGetThen(plain), test)).toBe('passes')
  })

  it('drops meta', async () => {
    const dropsMeta: Read = async (storage, ns, key) => {
      const entry = await storage.get(ns, key)
      return entry && { value: entry.value, createdAt: entry.createdAt, expiresAt: entry.expiresAt }
    }
    expect(await outcome(withGetThen(dropsMeta), kinds)).toMatch(/disagree/)
  })

  it('keeps serving what it read first (a stale copy after a write, delete or clear)', async () => {
    const seen = new Map<string, Entry | undefined>()
    const stale: Read = async (storage, ns, key) => {
      if (!seen.has(key)) seen.set(key, await storage.get(ns, key))
      return seen.get(key)
    }
    expect(await outcome(withGetThen(stale), random)).toMatch(/disagree/)
  })

  it('hands what onEntry threw to onError instead of rejecting', async () => {
    expect(await outcome(withGetThen(plain, true), throws)).toMatch(/Missing expected rejection/)
  })

  it('is present on a storage that does not claim it', async () => {
    const unclaimed = { ...withGetThen(plain), getThen: undefined }
    const test = 'read-and-continue (not claimed) › has no GET_THEN member'
    expect(await outcome({ name: 'memory', create: () => memoryStorage() }, test)).toBe('passes')
    expect(await outcome(unclaimed, test)).toMatch(/pass getThen: true/)
  })
})
