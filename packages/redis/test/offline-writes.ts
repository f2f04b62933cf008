// The writes the offline-queue tests issue while a user's client can't reach the server: each must be refused
// (memokit's deadline) and must never land later, behind another process's delete. One outage holds all three, on
// keys of one namespace, so each file pays for one kill and restart per client set-up instead of one per write.
import { expect } from '@jest/globals'
import { StorageError } from '@memokit/core'
import type { RedisStorage } from '@memokit/redis'

type Write = (storage: RedisStorage, key: string) => Promise<unknown>

export const OFFLINE_WRITES: ReadonlyArray<readonly [op: string, key: string, write: Write]> = [
  ['set', 'k-set', (s, key) => s.set('ns', key, 'stale')],
  ['add', 'k-add', (s, key) => s.add('ns', key, 'stale')],
  // A lease taken late would hold off every other process's computation of the key until its ttl.
  ['acquireLease', 'k-lease', (s, key) => s.acquireLease('ns', key, 'late-token-0123456789', 60_000)],
]

/** Writes the keys' old values: `set` and `add` then have an entry the late write would replace. */
export async function writeOld(storage: RedisStorage): Promise<void> {
  await Promise.all(OFFLINE_WRITES.map(([, key]) => storage.set('ns', key, 'old')))
}

/** Issues every write at once; each must be refused. Returns the errors, by op, for further checks. */
export async function expectRefused(storage: RedisStorage): Promise<Record<string, unknown>> {
  const settled = await Promise.allSettled(OFFLINE_WRITES.map(([, key, write]) => write(storage, key)))
  const errors = Object.fromEntries(
    OFFLINE_WRITES.map(([op], i) => {
      const s = settled[i] as PromiseSettledResult<unknown>
      return [op, s.status === 'rejected' ? s.reason : `resolved with ${String(s.value)}`]
    }),
  )
  for (const [op, error] of Object.entries(errors))
    expect({ op, refused: error instanceof StorageError }).toEqual({ op, refused: true })
  return errors
}

/** Deletes every key through another process's storage (retrying through `deleteKey` when given). */
export async function deleteAll(other: RedisStorage, deleteKey?: (key: string) => Promise<unknown>): Promise<void> {
  for (const [, key] of OFFLINE_WRITES) await (deleteKey ?? ((k) => other.delete('ns', k)))(key)
}

/** After the client sent whatever it still held: no key has an entry, and each key's lease is free. */
export async function expectNoneLanded(other: RedisStorage): Promise<void> {
  const found: Record<string, unknown> = {}
  const clean: Record<string, unknown> = {}
  for (const [op, key] of OFFLINE_WRITES) {
    const value = (await other.get('ns', key))?.value
    found[op] = { value, leaseFree: await other.acquireLease('ns', key, 'other-token-0123456789', 1000) }
    clean[op] = { value: undefined, leaseFree: true }
  }
  // One comparison, so a failure shows every write that landed.
  expect(found).toEqual(clean)
}
