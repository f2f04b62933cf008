// Adversarial probes of @cached / @cachedClear over Redis (127.0.0.1:6379, a unique prefix, never flushed): instances
// with the same instanceKey share entries and other ids don't, a static method's subclass has entries of its own, and
// a computation that started before a @cachedClear write and ends after its clear is not stored.
import { afterAll, describe, expect, it } from '@jest/globals'
import { cached, cachedClear } from '@memokit/core'
import { redisStorage } from '@memokit/redis'
import { uniqueNamespace } from './helpers'

const storage = redisStorage({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: `memokit-adv-api-${process.pid}-${Math.random().toString(36).slice(2)}`,
})
afterAll(async () => {
  await storage.close()
})

describe('decorators over Redis, adversarially', () => {
  it('shares by instanceKey, keeps other ids apart, and a static subclass has entries of its own', async () => {
    const namespace = uniqueNamespace()
    let runs = 0
    class Billing {
      constructor(readonly tenant: string) {}
      @cached({ storage, namespace, instanceKey: (self: Billing) => self.tenant })
      async seats(plan: string): Promise<string> {
        return `${this.tenant}/${plan}#${++runs}`
      }
      @cached({ storage, namespace })
      static async label(): Promise<string> {
        return `${Billing.name}-${++runs}`
      }
    }
    class Enterprise extends Billing {}
    expect(await new Billing('a').seats('pro')).toBe('a/pro#1')
    expect(await new Billing('a').seats('pro')).toBe('a/pro#1')
    expect(await new Enterprise('a').seats('pro')).toBe('a/pro#1')
    expect(await new Billing('b').seats('pro')).toBe('b/pro#2')
    expect(await Billing.label()).toBe('Billing-3')
    expect(await Enterprise.label()).toBe('Billing-4')
    expect(await Billing.label()).toBe('Billing-3')
  })

  it('a computation racing a @cachedClear write is not stored after the clear', async () => {
    const namespace = uniqueNamespace()
    let db = 'old'
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let runs = 0
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    class Repo {
      constructor(readonly tenant: string) {}
      @cached({ storage, namespace, instanceKey: (self: Repo) => self.tenant })
      async read(): Promise<string> {
        runs++
        const seen = db
        if (runs === 1) {
          started()
          await gate
        }
        return seen
      }
      @cachedClear({ storage, namespaces: namespace })
      async write(value: string): Promise<void> {
        db = value
      }
    }
    const repo = new Repo('t')
    const stale = repo.read()
    await running
    await repo.write('new')
    release()
    expect(await stale).toBe('old')
    expect(await repo.read()).toBe('new')
  })
})
