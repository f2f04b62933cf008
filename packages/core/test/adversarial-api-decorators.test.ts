// Adversarial probes of @cached: what the options that see arguments get with instanceKey, and options no call could
// use without a storage. Both tests failed before the fixes committed with them.
import { describe, expect, it } from '@jest/globals'
import { ConfigError, cached, createMemokit, invalidateTags, memoryStorage, type Storage } from '@memokit/core'
import { uniqueNamespace } from './helpers'

describe('@cached with instanceKey', () => {
  it('tags sees the method arguments only (not the instance id), so invalidateTags reaches the entry', () => {
    const storage: Storage = memoryStorage()
    const seen: unknown[][] = []
    let runs = 0
    class Users {
      constructor(readonly tenant: string) {}
      @cached({
        storage,
        namespace: uniqueNamespace(),
        instanceKey: (self: Users) => self.tenant,
        tags: (id: number) => {
          seen.push([id])
          return [`user:${id}`]
        },
      })
      find(id: number): string {
        return `${this.tenant}/${id}#${++runs}`
      }
    }
    const users = new Users('acme')
    expect(users.find(42)).toBe('acme/42#1')
    expect(seen[0]).toEqual([42])
    expect(users.find(42)).toBe('acme/42#1')
    invalidateTags(storage, ['user:42'])
    expect(users.find(42)).toBe('acme/42#2')
  })
})

describe('@cached without a storage', () => {
  it('refuses tags, which no invalidateTags call could reach in the per-instance tables', () => {
    let error: unknown
    try {
      cached({ tags: (id: number) => [`user:${id}`] })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ option: 'tags', code: 'E_CONFIG' })
    expect((error as Error).message).toMatch(/^@cached: tags .*pass the storage/)
    expect(() => createMemokit({ tags: () => ['all'] }).cached()).toThrow(/^@cached: tags/)
  })
})
