// The freshness timeline over a real Redis: swr serves stale and refreshes once however many callers arrive,
// staleIfError serves stale when fn fails, and the timeline travels in the entry so another storage object (a
// replica) reading it sees it stale at the same moment. Real TTLs: short real windows and polling, no fake clock.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { ComputeError, cacheValue, type ErrorReport } from '@memokit/core'
import { type RedisStorage, redisStorage } from '@memokit/redis'
import { controllable } from '../../core/test/controllable'
import { uid } from './counted'
import { disposer, envPort, sharedRedis } from './servers'

const cleanup = disposer()
let shared: Awaited<ReturnType<typeof sharedRedis>>
// One prefix for this file on the shared server (never flushed); every test also has its own namespace.
const prefix = uid('memokit-freshness')
const namespaces: string[] = []
const open = (): RedisStorage => cleanup.track(redisStorage({ url: shared.url, prefix }))
const namespace = (): string => {
  const ns = uid('ns')
  namespaces.push(ns)
  return ns
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 1500): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

beforeAll(async () => {
  shared = await sharedRedis(envPort('REDIS_SPARE_PORT', 7200) + 13)
}, 60_000)

afterAll(async () => {
  const storage = open()
  for (const ns of namespaces) await storage.clear(ns).catch(() => {})
  await cleanup.disposeAll()
  await shared?.stop()
}, 60_000)

describe('freshness over a real Redis', () => {
  it('swr: 50 concurrent and 50 sequential callers in the window get the stale value; exactly one refresh', async () => {
    const storage = open()
    const ns = namespace()
    const c = controllable()
    const cached = cacheValue(c.fn, { storage, namespace: ns, name: 'quote', ttl: 150, swr: '2s' })
    const first = cached('k')
    await waitFor('the first run', () => c.runs.length === 1)
    c.resolve('v1')
    await expect(first).resolves.toBe('v1')
    const written = await storage.get(ns, cached.keyFor('k'))
    await sleep((written?.meta?.staleAt as number) - Date.now() + 10)

    const answers = await Promise.all(Array.from({ length: 50 }, () => cached('k')))
    expect(answers).toEqual(Array(50).fill('v1'))
    await waitFor('the background refresh', () => c.runs.length === 2)
    expect(c.last().context?.background).toBe(true)
    for (let i = 0; i < 50; i++) await expect(cached('k')).resolves.toBe('v1')
    expect(c.runs).toHaveLength(2)

    c.resolve('v2')
    await waitFor('the refreshed entry', async () => (await storage.get(ns, cached.keyFor('k')))?.value === 'v2')
    await expect(cached('k')).resolves.toBe('v2')
    expect(c.runs).toHaveLength(2)
  })

  it('staleIfError: 50 callers get the stale value when fn fails, one report, then errorBackoff', async () => {
    const storage = open()
    const ns = namespace()
    const reports: ErrorReport[] = []
    const c = controllable()
    const cached = cacheValue(c.fn, {
      storage,
      namespace: ns,
      name: 'balance',
      ttl: 150,
      staleIfError: '2s',
      onError: (r) => reports.push(r),
    })
    const first = cached('acct')
    await waitFor('the first run', () => c.runs.length === 1)
    c.resolve('v1')
    await first
    const written = await storage.get(ns, cached.keyFor('acct'))
    expect(written?.meta?.errorUntil).toBe((written?.meta?.staleAt as number) + 2000)
    // Physical expiry in Redis = staleAt + staleIfError (to the ms the server's clock allows).
    expect(Math.abs((written?.expiresAt as number) - ((written?.meta?.staleAt as number) + 2000))).toBeLessThan(50)
    await sleep((written?.meta?.staleAt as number) - Date.now() + 10)

    const calls = Array.from({ length: 50 }, () => cached('acct'))
    await waitFor('the retry', () => c.runs.length === 2)
    const boom = new Error('ledger unavailable')
    c.reject(boom)
    expect(await Promise.all(calls)).toEqual(Array(50).fill('v1'))
    expect(reports).toHaveLength(1)
    expect(reports[0]?.op).toBe('compute')
    expect(reports[0]?.error).toBeInstanceOf(ComputeError)
    expect(reports[0]?.error.cause).toBe(boom)
    // Within errorBackoff (10 s by default): stale without running fn; the entry in Redis is untouched.
    await expect(cached('acct')).resolves.toBe('v1')
    expect(c.runs).toHaveLength(2)
    expect((await storage.get(ns, cached.keyFor('acct')))?.value).toBe('v1')
  })

  it('staleIfError: past the window the entry is gone from Redis and the caller gets fn\u2019s own error', async () => {
    const storage = open()
    const ns = namespace()
    let fail = false
    const boom = new Error('still down')
    const cached = cacheValue(
      async (id: string) => {
        if (fail) throw boom
        return `ok:${id}`
      },
      { storage, namespace: ns, name: 'shortWindow', ttl: 100, staleIfError: 200, onError: () => {} },
    )
    await expect(cached('a')).resolves.toBe('ok:a')
    fail = true
    const written = await storage.get(ns, cached.keyFor('a'))
    await sleep((written?.meta?.errorUntil as number) - Date.now() + 30)
    expect(await storage.get(ns, cached.keyFor('a'))).toBeUndefined()
    await expect(cached('a')).rejects.toBe(boom)
  })

  it('the timeline survives the round trip: a replica built with other options sees the entry stale at the same moment', async () => {
    const ns = namespace()
    const primary = open()
    const replica = open()
    expect(replica).not.toBe(primary)
    let writerRuns = 0
    let readerRuns = 0
    const writer = cacheValue(
      async (id: number) => {
        writerRuns++
        return `w${writerRuns}:${id}`
      },
      { storage: primary, namespace: ns, name: 'price', ttl: 300, swr: '2s' },
    )
    // The replica's own options say an hour: it must follow the timeline written in the entry instead.
    const reader = cacheValue(
      async (id: number) => {
        readerRuns++
        return `r${readerRuns}:${id}`
      },
      { storage: replica, namespace: ns, name: 'price', ttl: '1h' },
    )
    const calledAt = Date.now()
    await expect(writer(1)).resolves.toBe('w1:1')
    const seenByPrimary = await primary.get(ns, writer.keyFor(1))
    const seenByReplica = await replica.get(ns, reader.keyFor(1))
    expect(seenByReplica?.meta).toEqual(seenByPrimary?.meta)
    const staleAt = seenByReplica?.meta?.staleAt as number
    // The timeline is planned before the write and the storage stamps createdAt at the write: they can be a ms apart.
    expect(staleAt).toBeGreaterThanOrEqual(calledAt + 300)
    expect(staleAt).toBeLessThanOrEqual((seenByReplica?.createdAt as number) + 300)
    expect(seenByReplica?.meta?.swrUntil).toBe(staleAt + 2000)

    // Fresh for the replica too: a hit, no run, no refresh.
    await expect(reader(1)).resolves.toBe('w1:1')
    await sleep(30)
    expect(readerRuns).toBe(0)

    await sleep(staleAt - Date.now() + 10)
    // Stale: served at once, and refreshed behind by the replica's own fn, once.
    await expect(reader(1)).resolves.toBe('w1:1')
    await waitFor('the replica refresh', () => readerRuns === 1)
    await waitFor('the refreshed entry', async () => (await primary.get(ns, writer.keyFor(1)))?.value === 'r1:1')
    await expect(writer(1)).resolves.toBe('r1:1')
    expect(writerRuns).toBe(1)
    expect(readerRuns).toBe(1)
  })
})
