// Replicas over one shared state, in one process: each "replica" is its own storage object (so its own identity
// and flights), all of them reading and writing one memory storage plus one lease table. The lease members are
// written plainly here (a Map and Date.now) so the tests of core's lease flow can count operations and inject
// the faults a real server produces at random; the real backends pass the contract suite's lease group.
import { type AsyncStorage, memoryStorage, type SetOptions } from '@memokit/core'

export type LeaseOpName =
  | 'get'
  | 'set'
  | 'delete'
  | 'clear'
  | 'acquireLease'
  | 'releaseLease'
  | 'extendLease'
  | 'setIfLeased'

export interface SharedState {
  readonly entries: ReturnType<typeof memoryStorage>
  /** `namespace\0key` -> the live lease. */
  readonly leases: Map<string, { token: string; expiresAt: number }>
  /** Operations that throw, as a connection lost would. */
  readonly failing: Set<LeaseOpName>
  /** How many times each operation ran, over every replica. */
  readonly calls: Record<LeaseOpName, number>
}

export function sharedState(): SharedState {
  const calls = {} as Record<LeaseOpName, number>
  for (const op of ['get', 'set', 'delete', 'clear', 'acquireLease', 'releaseLease', 'extendLease', 'setIfLeased'])
    calls[op as LeaseOpName] = 0
  return { entries: memoryStorage(), leases: new Map(), failing: new Set(), calls }
}

const slot = (namespace: string, key: string) => `${namespace}\u0000${key}`

/** The live lease on `key`, if any. */
export function leaseOf(state: SharedState, namespace: string, key: string): string | undefined {
  const lease = state.leases.get(slot(namespace, key))
  return lease !== undefined && lease.expiresAt > Date.now() ? lease.token : undefined
}

/** One replica's storage over the shared state. */
export function replicaStorage(
  state: SharedState,
  name = 'shared',
): Required<Omit<AsyncStorage, 'scope' | 'getMany' | 'add' | 'close'>> {
  const op = <T>(name: LeaseOpName, run: () => T): Promise<T> => {
    state.calls[name]++
    return Promise.resolve().then(() => {
      if (state.failing.has(name)) throw new Error(`connection lost during ${name}`)
      return run()
    })
  }
  const live = (namespace: string, key: string, token: string) => leaseOf(state, namespace, key) === token
  return {
    async: true,
    name,
    get: (namespace, key) => op('get', () => state.entries.get(namespace, key)),
    set: (namespace, key, value, options?: SetOptions) =>
      op('set', () => state.entries.set(namespace, key, value, options)),
    delete: (namespace, key) =>
      op('delete', () => {
        state.leases.delete(slot(namespace, key))
        return state.entries.delete(namespace, key)
      }),
    clear: (namespace, prefix) =>
      op('clear', () => {
        for (const name of [...state.leases.keys()]) {
          if (name.startsWith(slot(namespace, prefix ?? ''))) state.leases.delete(name)
        }
        state.entries.clear(namespace, prefix)
      }),
    acquireLease: (namespace, key, token, ttl) =>
      op('acquireLease', () => {
        if (leaseOf(state, namespace, key) !== undefined) return false
        state.leases.set(slot(namespace, key), { token, expiresAt: Date.now() + ttl })
        return true
      }),
    releaseLease: (namespace, key, token) =>
      op('releaseLease', () => live(namespace, key, token) && state.leases.delete(slot(namespace, key))),
    extendLease: (namespace, key, token, ttl) =>
      op('extendLease', () => {
        if (!live(namespace, key, token)) return false
        state.leases.set(slot(namespace, key), { token, expiresAt: Date.now() + ttl })
        return true
      }),
    setIfLeased: (namespace, key, value, token, options) =>
      op('setIfLeased', () => {
        if (!live(namespace, key, token)) return false
        state.entries.set(namespace, key, value, options)
        state.leases.delete(slot(namespace, key))
        return true
      }),
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
