// A storage that hangs between a call's lease and its re-read (singleFlight: 'distributed'): the failed re-read
// must end the call's use of the storage, as a failed read does in every mode ("a failed read skips that call's
// write"): the caller waits one operation timeout, not one for the read and another for a write that can't land.
import { describe, expect, it } from '@jest/globals'
import { type AsyncStorage, cacheValue, type ErrorReport } from '@memokit/core'
import { createDeadlineQueue } from '../src/deadlines'
import { type LeaseOpName, replicaStorage, sharedState } from './lease-helpers'

// What a network backend does on a hung server: every operation fails after its operationTimeoutMs.
const TIMEOUT_MS = 600

/** A replica storage that hangs (every later operation times out) once a lease has been taken. */
function hangsAfterLease() {
  const state = sharedState()
  const inner = replicaStorage(state) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
  const deadlines = createDeadlineQueue(TIMEOUT_MS)
  const issued: LeaseOpName[] = []
  let hung = false
  const storage: Record<string, unknown> = { async: true, name: 'hangs-after-lease' }
  for (const op of ['get', 'set', 'delete', 'clear', 'acquireLease', 'releaseLease', 'extendLease', 'setIfLeased']) {
    storage[op] = (...args: unknown[]) => {
      issued.push(op as LeaseOpName)
      const work = hung ? new Promise(() => {}) : inner[op]?.(...args)
      if (op === 'acquireLease') hung = true
      return deadlines.bound(
        () => work,
        () => new Error(`${op} timed out after ${TIMEOUT_MS} ms`),
        (error) => error,
      )
    }
  }
  return { storage: storage as unknown as AsyncStorage, issued, state }
}

describe("singleFlight: 'distributed' over a storage that hangs after the lease is taken", () => {
  it('answers after one operation timeout: the failed re-read skips the write, and the lease is given back', async () => {
    const { storage, issued, state } = hangsAfterLease()
    const reports: ErrorReport[] = []
    let runs = 0
    const load = cacheValue(
      async (id: number) => {
        runs++
        return `user-${id}`
      },
      {
        storage,
        namespace: 'outage-leases',
        name: 'load',
        singleFlight: 'distributed',
        onError: (r) => reports.push(r),
      },
    )
    const started = performance.now()
    expect(await load(1)).toBe('user-1')
    const ms = performance.now() - started
    expect(runs).toBe(1)
    // read (ok), acquireLease (ok), the re-read (times out): then fn runs here, unfenced, as after any failed read.
    expect(issued.slice(0, 3)).toEqual(['get', 'acquireLease', 'get'])
    expect(issued).not.toContain('setIfLeased')
    // The lease taken is given back (best effort): held by nobody, it would keep other replicas from storing.
    expect(issued).toContain('releaseLease')
    expect(reports.map((r) => r.op)).toEqual(['get'])
    // Two timeouts in series would be >= 2 * TIMEOUT_MS by construction.
    expect(ms).toBeLessThan(2 * TIMEOUT_MS)
    expect(state.calls.setIfLeased).toBe(0)
  })

  it('in strict mode (failOpen: false) rejects with the read failure and gives the lease back', async () => {
    const { storage, issued } = hangsAfterLease()
    const load = cacheValue(async (id: number) => `user-${id}`, {
      storage,
      namespace: 'outage-leases-strict',
      name: 'load',
      singleFlight: 'distributed',
      failOpen: false,
    })
    await expect(load(1)).rejects.toMatchObject({ code: 'E_STORAGE', op: 'get' })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(issued).toContain('releaseLease')
  })
})
