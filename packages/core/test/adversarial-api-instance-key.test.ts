// Adversarial probe of @cached's instanceKey: one that throws (an instance not fully set up, a getter that throws) is
// a KeyError with what it threw as the cause, as a custom key function's is, and an async method rejects with it
// (docs/errors.md). Failed before the fix committed with it: the TypeError escaped raw and synchronously from an
// async method, so `svc.seats().catch(...)` never saw it.
import { describe, expect, it } from '@jest/globals'
import { cached, KeyError, memoryStorage, type Storage } from '@memokit/core'
import { uniqueNamespace } from './helpers'

interface Tenant {
  readonly id: string
}

describe('@cached with an instanceKey that throws', () => {
  it('an async method rejects with a KeyError whose cause is what instanceKey threw', async () => {
    const storage: Storage = memoryStorage()
    class Billing {
      constructor(readonly tenant: Tenant | undefined) {}
      @cached({ storage, namespace: uniqueNamespace(), instanceKey: (self: Billing) => (self.tenant as Tenant).id })
      async seats(): Promise<number> {
        return 1
      }
    }
    let result: Promise<number> | undefined
    expect(() => {
      result = new Billing(undefined).seats()
    }).not.toThrow()
    const error = await result?.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(KeyError)
    expect(error).toMatchObject({ code: 'E_KEY', path: 'instanceKey(this)', functionName: 'Billing.seats' })
    expect((error as KeyError).cause).toBeInstanceOf(TypeError)
    expect(await new Billing({ id: 'acme' }).seats()).toBe(1)
  })

  it('a sync method throws that KeyError', () => {
    const storage: Storage = memoryStorage()
    const thrown = new Error('no tenant yet')
    class Billing {
      @cached({
        storage,
        namespace: uniqueNamespace(),
        instanceKey: (_self: Billing): string => {
          throw thrown
        },
      })
      seats(): number {
        return 1
      }
    }
    let error: unknown
    try {
      new Billing().seats()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(KeyError)
    expect((error as KeyError).cause).toBe(thrown)
    expect((error as KeyError).message).toMatch(/^Billing\.seats: instanceKey threw \(.*no tenant yet/)
  })
})
