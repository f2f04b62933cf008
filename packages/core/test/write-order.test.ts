import { describe, expect, it } from '@jest/globals'
import { createWriteTracker } from '@memokit/core/backend'

const deferred = () => {
  let resolve!: () => void
  let reject!: (error: Error) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
const flush = () => new Promise((resolve) => setImmediate(resolve))

describe('createWriteTracker', () => {
  it('has nothing to wait for when no write is in flight', () => {
    const tracker = createWriteTracker()
    expect(tracker.settledKey('ns', 'k')).toBeUndefined()
    expect(tracker.settledNamespace('ns')).toBeUndefined()
  })

  it('waits for the writes of one key issued so far, not for later ones', async () => {
    const tracker = createWriteTracker()
    const first = deferred()
    const other = deferred()
    const tracked = tracker.track('ns', 'k', first.promise)
    tracker.track('ns', 'other', other.promise)
    expect(tracked).toBe(first.promise)
    let done = false
    void tracker.settledKey('ns', 'k')?.then(() => {
      done = true
    })
    const later = deferred()
    tracker.track('ns', 'k', later.promise)
    await flush()
    expect(done).toBe(false)
    first.resolve()
    await flush()
    // Settled although a later write of the key and a write of another key are still in flight.
    expect(done).toBe(true)
    later.resolve()
    other.resolve()
  })

  it('settles, never rejects, when a write fails, and forgets settled writes', async () => {
    const tracker = createWriteTracker()
    const write = deferred()
    const tracked = tracker.track('ns', 'k', write.promise)
    tracked.catch(() => undefined)
    const waiting = tracker.settledKey('ns', 'k')
    write.reject(new Error('disk full'))
    await expect(waiting).resolves.toBeUndefined()
    await flush()
    expect(tracker.settledKey('ns', 'k')).toBeUndefined()
    expect(tracker.settledNamespace('ns')).toBeUndefined()
  })

  it('waits for a namespace, or only its keys starting with a prefix', async () => {
    const tracker = createWriteTracker()
    const fn = deferred()
    const other = deferred()
    const elsewhere = deferred()
    tracker.track('ns', 'fn:1', fn.promise)
    tracker.track('ns', 'fx:1', other.promise)
    tracker.track('ns2', 'fn:1', elsewhere.promise)
    const settled: string[] = []
    void tracker.settledNamespace('ns', 'fn:')?.then(() => settled.push('fn:'))
    void tracker.settledNamespace('ns')?.then(() => settled.push('all'))
    fn.resolve()
    await flush()
    expect(settled).toEqual(['fn:'])
    other.resolve()
    await flush()
    expect(settled).toEqual(['fn:', 'all'])
    expect(tracker.settledNamespace('ns2', 'fx')).toBeUndefined()
    expect(tracker.settledNamespace('ns2')).toBeDefined()
    elsewhere.resolve()
  })
})
