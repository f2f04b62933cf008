// Adversarial probe of cacheClear's unused-namespace warning with @cached over a storage: the decorated method's
// wrapper (and so its namespace's registration) is made when its class's first instance is. A clear of that namespace
// before then (a writer service constructed before the reader, or a reader made per request) warned that no cacheValue
// uses the namespace, though one will. Failed before the fix committed with it; a real typo still warns.
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { cacheClear, cached, cachedClear, memoryStorage, type Storage } from '@memokit/core'
import { uniqueNamespace } from './helpers'

afterEach(() => {
  jest.restoreAllMocks()
})

const warningsOf = (emit: { mock: { calls: unknown[][] } }): string[] =>
  emit.mock.calls.map((call) => String(call[0])).filter((message) => message.includes('is not used by any cacheValue'))

describe('a clear of a namespace that a @cached class not constructed yet uses', () => {
  it('is not reported as reaching nothing, and the entries the class makes later are cleared', () => {
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const storage: Storage = memoryStorage()
    const namespace = uniqueNamespace('users')
    let runs = 0
    class Users {
      constructor(readonly tenant: string) {}
      @cached({ storage, namespace, instanceKey: (self: Users) => self.tenant })
      find(id: number): string {
        return `${this.tenant}/${id}#${++runs}`
      }
    }
    class Admin {
      @cachedClear({ storage, namespaces: namespace })
      rename(): void {}
    }
    new Admin().rename()
    expect(warningsOf(emit)).toEqual([])
    const users = new Users('acme')
    expect(users.find(1)).toBe('acme/1#1')
    expect(users.find(1)).toBe('acme/1#1')
    new Admin().rename()
    expect(users.find(1)).toBe('acme/1#2')
    expect(warningsOf(emit)).toEqual([])
  })

  it('a namespace no wrapper uses or declares still warns', () => {
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const storage: Storage = memoryStorage()
    class Users {
      constructor(readonly tenant: string) {}
      @cached({ storage, namespace: uniqueNamespace('users'), instanceKey: (self: Users) => self.tenant })
      find(id: number): string {
        return `${this.tenant}/${id}`
      }
    }
    cacheClear(() => {}, { storage, namespaces: 'usres' })()
    expect(warningsOf(emit)).toHaveLength(1)
    expect(new Users('a').find(1)).toBe('a/1')
  })
})
