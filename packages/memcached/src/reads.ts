/**
 * Reads under the namespace's current version: one entry (with its lease key, for `delete`), or several entries
 * (`getMany`), each with the version key in one round trip when the client has a multi-get.
 */
import type { MemcachedClient } from './client'
import type { NamespaceState } from './namespace-state'
import type { Call } from './run'
import type { Mode, Versioned } from './versioned'

/**
 * An entry as read: its memcached key, the namespace state it was read under (`delete` derives the lease key from
 * it; a hit doesn't build that key), and the stored bytes (`null`/`undefined` when absent).
 */
export interface Found {
  readonly mKey: string
  readonly state: NamespaceState
  readonly raw: unknown
}

/** The reads of one storage. */
export interface Reads {
  /** get and delete: the entry under the namespace's current state; `undefined` when the namespace has no version. */
  readEntry(call: Call, ns: string, key: string, mode: Exclude<Mode, 'write'>): Promise<Found | undefined>
  /** The entry under a given state, read with `call`: what a read does once it knows the namespace's state. */
  entryUnder(call: Call, ns: string, key: string): (state: NamespaceState) => Promise<Found>
  /** getMany: the stored bytes of every key, in order; `undefined` when the namespace has no version. */
  readMany(call: Call, ns: string, keys: readonly string[]): Promise<readonly unknown[] | undefined>
}

/** The reads of a storage on `client` over `versioned`'s keys. */
export function createReads(client: MemcachedClient, versioned: Versioned): Reads {
  const getMulti = client.getMulti?.bind(client)
  const { entryKey, withState } = versioned

  const entryUnder =
    (call: Call, ns: string, key: string) =>
    async (state: NamespaceState): Promise<Found> => {
      const mKey = entryKey(ns, state, key)
      return { mKey, state, raw: await call(() => client.get(mKey)) }
    }

  const readEntry = (call: Call, ns: string, key: string, mode: Exclude<Mode, 'write'>) =>
    withState(
      call,
      ns,
      mode,
      entryUnder(call, ns, key),
      getMulti === undefined
        ? undefined
        : (vKey, hint): Promise<[unknown, Found]> => {
            const mKey = entryKey(ns, hint, key)
            return call(() => getMulti([vKey, mKey])).then((values) => [
              values[0],
              { mKey, state: hint, raw: values[1] },
            ])
          },
    )

  // With getMulti, one command (the version key first, when it must be read); memjs has none, so then concurrent
  // gets, which its one connection pipelines.
  const readMany = (call: Call, ns: string, keys: readonly string[]) =>
    withState(
      call,
      ns,
      'get',
      (state) => {
        const mKeys = keys.map((key) => entryKey(ns, state, key))
        return getMulti === undefined
          ? Promise.all(mKeys.map((mKey) => call(() => client.get(mKey))))
          : call(() => getMulti(mKeys))
      },
      getMulti === undefined
        ? undefined
        : async (vKey, hint): Promise<[unknown, readonly unknown[]]> => {
            const values = await call(() => getMulti([vKey, ...keys.map((key) => entryKey(ns, hint, key))]))
            return [values[0], values.slice(1)]
          },
    )

  return { readEntry, entryUnder, readMany }
}
