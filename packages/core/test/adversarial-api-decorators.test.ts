// Adversarial probes of @cached over a shared storage with instanceKey: what the options that see arguments get.
import { describe, expect, it } from '@jest/globals'
import { cached, invalidateTags, memoryStorage, type Storage } from '@memokit/core'
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
