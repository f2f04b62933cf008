// A closed storage can't clear: storageClosed (what a backend's close() calls) ends the background retries of its
// failed clears, says once per retry chain that the clear was not retried, and leaves alone the retries that another,
// still open storage object over the same place stands for.
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import {
  type AnyStorage,
  type AsyncStorage,
  cacheClear,
  cacheValue,
  type ErrorReport,
  memoryStorage,
  StorageError,
  tieredStorage,
} from '@memokit/core'
import { storageClosed } from '@memokit/core/backend'
import { RETRY_DELAYS_MS } from '../src/clear-retry'
import { faultyStorage, uniqueNamespace } from './helpers'

afterEach(() => {
  jest.useRealTimers()
})

const ALL_DELAYS = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0)
const advance = (ms: number): Promise<void> => jest.advanceTimersByTimeAsync(ms)
const NOT_RETRIED = /not retried because the storage was closed; entries of that namespace may remain until their TTL/

/** An async storage whose clears always fail, counted. */
function failingClears(scope?: string) {
  const { storage, failing, calls } = faultyStorage(true)
  failing.add('clear')
  if (scope !== undefined) Object.assign(storage, { scope })
  return { storage, clears: () => calls.clear }
}

/** A clear wrapper over `storage` whose reports land in `reports`. */
function clearer(storage: AnyStorage, namespaces: string | string[], reports: ErrorReport[]) {
  // A namespace no cached function uses would be warned about as a typo.
  for (const namespace of [namespaces].flat()) {
    cacheValue(async (n: number) => n, { storage, namespace, name: uniqueNamespace('ident') })
  }
  return cacheClear(async () => 'saved', { storage, namespaces, onError: (r) => reports.push(r) })
}

/** An async storage whose clears answer only when the test rejects them (`answers`), counted. */
function heldClears() {
  const inner = memoryStorage()
  const answers: ((error: Error) => void)[] = []
  let clears = 0
  const storage: AsyncStorage = {
    async: true,
    name: 'held-clears',
    get: async (ns, key) => inner.get(ns, key),
    set: async (ns, key, value, options) => inner.set(ns, key, value, options),
    delete: async (ns, key) => inner.delete(ns, key),
    clear: () => {
      clears++
      return new Promise<void>((_, reject) => answers.push(reject))
    },
  }
  return { storage, answers, clears: () => clears }
}

const notRetried = (reports: ErrorReport[]) =>
  reports.filter((r) => r.error instanceof StorageError && NOT_RETRIED.test(r.error.message))

describe('storageClosed', () => {
  it('ends every retry chain of the storage and reports each once as not retried', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const { storage, clears } = failingClears()
    const [a, b] = [uniqueNamespace('a'), uniqueNamespace('b')]
    const reports: ErrorReport[] = []
    await clearer(storage, [a, b], reports)()
    await advance(RETRY_DELAYS_MS[0] as number)
    expect(clears()).toBe(4) // the two clears, one retry of each
    const reportsBefore = reports.length

    storageClosed(storage)
    await advance(ALL_DELAYS * 2)
    expect(clears()).toBe(4)
    const ended = reports.slice(reportsBefore)
    expect(ended).toHaveLength(2)
    expect(ended.map((r) => r.namespace).sort()).toEqual([a, b].sort())
    for (const report of ended) {
      expect(report).toMatchObject({ op: 'clear', storage: storage.name })
      expect(report.error).toBeInstanceOf(StorageError)
      expect(report.error).toMatchObject({ op: 'clear', storage: storage.name })
      expect(report.error.message).toContain(`namespace '${report.namespace}'`)
      expect(report.error.message).toMatch(NOT_RETRIED)
    }
    // Again: nothing more to end, nothing more said.
    storageClosed(storage)
    expect(reports).toHaveLength(reportsBefore + 2)
  })

  it('leaves running the chain another open storage over the same scope started, and ends its own', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const scope = `test://place ${uniqueNamespace()}`
    const open = failingClears(scope)
    const closing = failingClears(scope)
    const [shared, own] = [uniqueNamespace('shared'), uniqueNamespace('own')]
    const openReports: ErrorReport[] = []
    const closingReports: ErrorReport[] = []
    await clearer(open.storage, shared, openReports)()
    await clearer(closing.storage, own, closingReports)()

    storageClosed(closing.storage)
    await advance(ALL_DELAYS + 1)
    expect(open.clears() - 1).toBe(RETRY_DELAYS_MS.length)
    expect(closing.clears()).toBe(1)
    expect(notRetried(openReports)).toEqual([])
    expect(notRetried(closingReports).map((r) => r.namespace)).toEqual([own])
  })

  it('hands a shared chain over to the member still open, and ends it only when the last one closes', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const scope = `test://place ${uniqueNamespace()}`
    const first = failingClears(scope)
    const second = failingClears(scope)
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    await clearer(first.storage, namespace, reports)()
    await clearer(second.storage, namespace, reports)()
    storageClosed(first.storage)
    expect(notRetried(reports)).toEqual([])
    await advance(RETRY_DELAYS_MS[0] as number)
    expect([first.clears(), second.clears()]).toEqual([1, 2])

    storageClosed(second.storage)
    await advance(ALL_DELAYS)
    expect([first.clears(), second.clears()]).toEqual([1, 2])
    expect(notRetried(reports)).toHaveLength(1)
  })

  it('lets an attempt already running finish, without another after it', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const { storage, answers, clears } = heldClears()
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    const saving = clearer(storage, namespace, reports)()
    await advance(0)
    answers.shift()?.(new Error('connection lost'))
    await saving
    await advance(RETRY_DELAYS_MS[0] as number)
    expect(clears()).toBe(2) // the retry is on its way

    storageClosed(storage)
    expect(notRetried(reports)).toEqual([]) // it may still succeed
    answers.shift()?.(new Error('connection lost again'))
    await advance(ALL_DELAYS)
    expect(clears()).toBe(2)
    expect(reports.map((r) => r.error.message)).toEqual([
      expect.stringMatching(/connection lost$/),
      expect.stringMatching(/connection lost again$/),
      expect.stringMatching(NOT_RETRIED),
    ])
  })

  it('starts no retry for a clear that fails after the close; one issued before it is reported as not retried', async () => {
    jest.useFakeTimers({ now: 1_000 })
    const { storage, answers, clears } = heldClears()
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    const save = clearer(storage, namespace, reports)
    const issuedBefore = save()
    await advance(0)
    expect(clears()).toBe(1)
    storageClosed(storage)
    answers.shift()?.(new Error('connection lost'))
    await issuedBefore
    expect(notRetried(reports)).toHaveLength(1)

    // Issued after the close: its own failure is what the user hears.
    const issuedAfter = save()
    await advance(0)
    answers.shift()?.(new Error('this storage is closed'))
    await issuedAfter
    await advance(ALL_DELAYS)
    expect(clears()).toBe(2)
    expect(reports).toHaveLength(3)
    expect(notRetried(reports)).toHaveLength(1)
  })

  it("is called by a tiered storage's close(), for the chains of the tier", async () => {
    jest.useFakeTimers({ now: 1_000 })
    const l2 = failingClears()
    const tier = tieredStorage({ l1: memoryStorage(), l2: l2.storage as AsyncStorage })
    const namespace = uniqueNamespace()
    const reports: ErrorReport[] = []
    await clearer(tier, namespace, reports)()
    await tier.close()
    await advance(ALL_DELAYS)
    expect(l2.clears()).toBe(1)
    expect(notRetried(reports).map((r) => r.namespace)).toEqual([namespace])
  })
})
