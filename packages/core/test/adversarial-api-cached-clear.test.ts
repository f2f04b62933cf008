// Adversarial probe of @cachedClear over a storage: called without its instance it is a UsageError, as every other
// decorated method is (docs/decorators.md). Failed before the fix committed with it: cacheClear passed `this`
// (undefined) through, so the method ran unbound (or failed with a TypeError of its own) and the clear ran anyway.
import { describe, expect, it } from '@jest/globals'
import { cachedClear, cacheValue, memoryStorage, type Storage, UsageError } from '@memokit/core'
import { uniqueNamespace } from './helpers'

describe('@cachedClear over a storage, called without its instance', () => {
  it('throws a UsageError and runs neither the method nor the clear', () => {
    const storage: Storage = memoryStorage()
    const namespace = uniqueNamespace()
    let runs = 0
    const read = cacheValue((id: number) => `${id}#${++runs}`, { storage, namespace, name: 'read' })
    let writes = 0
    class Svc {
      @cachedClear({ storage, namespaces: namespace })
      write(): number {
        return ++writes
      }
    }
    expect(read(1)).toBe('1#1')
    const unbound = new Svc().write
    expect(() => unbound()).toThrow(UsageError)
    expect(writes).toBe(0)
    expect(read(1)).toBe('1#1')
    expect(new Svc().write()).toBe(1)
    expect(read(1)).toBe('1#2')
  })

  it('a static method clears through its class', async () => {
    const storage: Storage = memoryStorage()
    const namespace = uniqueNamespace()
    let runs = 0
    const read = cacheValue((id: number) => `${id}#${++runs}`, { storage, namespace, name: 'read' })
    // biome-ignore lint/complexity/noStaticOnlyClass: static members are what is tested
    class Svc {
      @cachedClear({ storage, namespaces: namespace })
      static async write(): Promise<string> {
        return 'written'
      }
    }
    expect(read(1)).toBe('1#1')
    expect(await Svc.write()).toBe('written')
    expect(read(1)).toBe('1#2')
  })
})
