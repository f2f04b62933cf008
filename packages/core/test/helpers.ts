import { expect } from '@jest/globals'
import { type AnyStorage, type AsyncStorage, ConfigError, memoryStorage, type Storage } from '@memokit/core'

/** A unique namespace per test, so tests never share entries. */
export const uniqueNamespace = (label = 'ns'): string => `${label}-${Math.random().toString(36).slice(2)}`

export type Fault = 'get' | 'set' | 'delete' | 'clear'

/**
 * A real memory storage with faults switched on by the test: the kind of failure a real server produces at
 * random (connection lost), produced here on demand.
 */
export function faultyStorage<A extends boolean>(
  async: A,
): { storage: A extends true ? AsyncStorage : Storage; failing: Set<Fault>; calls: Record<Fault, number> } {
  const inner = memoryStorage()
  const failing = new Set<Fault>()
  const calls: Record<Fault, number> = { get: 0, set: 0, delete: 0, clear: 0 }
  const guard = <T>(op: Fault, run: () => T): T => {
    calls[op]++
    if (failing.has(op)) throw new Error(`connection lost during ${op}`)
    return run()
  }
  const wrap = <T>(op: Fault, run: () => T): T | Promise<T> =>
    async ? Promise.resolve().then(() => guard(op, run)) : guard(op, run)
  const storage = {
    async,
    name: async ? 'faulty-async' : 'faulty-sync',
    get: (ns: string, key: string) => wrap('get', () => inner.get(ns, key)),
    set: (ns: string, key: string, value: unknown, o?: { ttl?: number }) =>
      wrap('set', () => inner.set(ns, key, value, o)),
    delete: (ns: string, key: string) => wrap('delete', () => inner.delete(ns, key)),
    clear: (ns: string, prefix?: string) => wrap('clear', () => inner.clear(ns, prefix)),
  } as unknown as AnyStorage
  return { storage: storage as never, failing, calls }
}

/** Resolves after pending promise callbacks have run. */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** The ConfigError `run` throws; fails the test when it throws nothing or something else. */
export function configError(run: () => unknown): ConfigError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError, nothing was thrown')
}
