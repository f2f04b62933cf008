// A recording runner for the suite's own tests: they run single contract tests directly and look at the outcome.
import { type AsyncStorage, memoryStorage } from '@memokit/core'
import { runStorageContract, type StorageContractOptions } from '@memokit/storage-test-suite'

/** Registers the suite with a recording runner; returns its tests by full name (describe titles joined by ' › '). */
export function collect(options: StorageContractOptions): Map<string, () => Promise<void>> {
  const tests = new Map<string, () => Promise<void>>()
  const path: string[] = []
  runStorageContract(
    {
      describe(name, fn) {
        path.push(name)
        fn()
        path.pop()
      },
      it(name, fn) {
        tests.set([...path.slice(1), name].join(' › '), fn)
      },
    },
    options,
  )
  return tests
}

export async function outcome(options: StorageContractOptions, test: string): Promise<'passes' | string> {
  const fn = collect(options).get(test)
  if (fn === undefined) throw new Error(`no test named ${test}`)
  try {
    await fn()
    return 'passes'
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/** An async storage over a memory storage, with some members replaced. */
export const asyncOver = (inner = memoryStorage(), patch: Partial<AsyncStorage> = {}): AsyncStorage => ({
  async: true,
  name: 'wrapped',
  get: async (ns, key) => inner.get(ns, key),
  set: async (ns, key, value, options) => inner.set(ns, key, value, options),
  delete: async (ns, key) => inner.delete(ns, key),
  clear: async (ns, keyPrefix) => inner.clear(ns, keyPrefix),
  ...patch,
})
