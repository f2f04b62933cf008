// Adversarial probes of keyvStorage under store faults and Keyv namespaces.
import { expect, it } from '@jest/globals'
import { cacheValue, StorageError } from '@memokit/core'
import Keyv from 'keyv'
import { keyvStorage } from '../src'
import { gatedStore } from './gated-store'

const TIMEOUT = 100

it('a store call that never answers holds up later writes and deletes of its key only until their own deadline, and the key recovers', async () => {
  const map = new Map<string, unknown>()
  const store = gatedStore(map)
  const storage = keyvStorage(new Keyv({ store, namespace: 'a' }), { prefix: 'p', operationTimeoutMs: TIMEOUT })
  await storage.set('ns', 'k', 'old')
  // The store drops this set: its promise never settles (a lost reply, an adapter without a timeout).
  const held = store.hold('set', (key) => key.includes(':kk'))
  await expect(storage.set('ns', 'k', 'lost')).rejects.toBeInstanceOf(StorageError)
  // The store works again. An invalidation of the key must be possible again at some point, or the old value is
  // served until its ttl whatever the application invalidates.
  let deleted = false
  const t0 = Date.now()
  while (!deleted && Date.now() - t0 < 3000) {
    deleted = await storage.delete('ns', 'k').then(
      () => true,
      () => false,
    )
  }
  expect(deleted).toBe(true)
  expect(await storage.get('ns', 'k')).toBeUndefined()
  // The lost set is answered after all, landing after the delete: the key is deleted again, never left at 'lost'.
  held.release()
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(await storage.get('ns', 'k')).toBeUndefined()
  await storage.set('ns', 'k', 'new')
  expect((await storage.get('ns', 'k'))?.value).toBe('new')
})

it('two Keyvs with different namespaces on one Map: no entry of one is visible in or cleared by the other', async () => {
  const map = new Map<string, unknown>()
  const a = keyvStorage(new Keyv({ store: map, namespace: 'a' }), { prefix: 'p' })
  const b = keyvStorage(new Keyv({ store: map, namespace: 'ab' }), { prefix: 'p' })
  await a.set('ns', 'k', 'A')
  await b.set('ns', 'k', 'B')
  expect((await a.get('ns', 'k'))?.value).toBe('A')
  expect((await b.get('ns', 'k'))?.value).toBe('B')
  await a.clear('ns')
  expect(await a.get('ns', 'k')).toBeUndefined()
  expect((await b.get('ns', 'k'))?.value).toBe('B')
  await b.set('ns', 'k2', 'B2')
  await a.set('ns', 'k2', 'A2')
  await b.clear('ns', 'k')
  expect((await a.get('ns', 'k2'))?.value).toBe('A2')
  expect(await b.get('ns', 'k2')).toBeUndefined()
})

it('a store that throws on every call: cacheValue answers from fn', async () => {
  const throwing = {
    opts: {},
    get: () => Promise.reject(new Error('down')),
    set: () => {
      throw new Error('down sync')
    },
    delete: () => Promise.reject(new Error('down')),
    clear: () => Promise.reject(new Error('down')),
    on() {},
  }
  const storage = keyvStorage(new Keyv({ store: throwing }), { prefix: 'p', operationTimeoutMs: TIMEOUT })
  const errors: unknown[] = []
  const f = cacheValue(async (x: number) => x + 1, { name: 'plusOne', storage, onError: (e) => errors.push(e) })
  expect(await f(1)).toBe(2)
  expect(await f(1)).toBe(2)
  expect(errors.length).toBeGreaterThan(0)
})
