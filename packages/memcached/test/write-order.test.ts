// A write that timed out for its caller may still be on its way to memcached: memcache-client with maxConnections
// above 1 sends each command on an idle connection (or opens one), so a command issued later can overtake an
// earlier one. A TCP proxy in front of a memcached of our own holds back the connection carrying the old write past
// its deadline (a fault a real server can't produce on demand); the delete or newer set issued at that deadline goes
// on another connection, and must still land after it.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { AsyncStorage } from '@memokit/core'
import { MemcacheClient } from 'memcache-client'
import { type Held, type HoldingProxy, startProxy } from '../../storage-test-suite/test/fixtures/holding-proxy'
import { fromMemcacheClient, type MemcachedClient, memcachedStorage } from '../src'
import { type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_ORDER_PORT', 11337)
// The storage's operationTimeoutMs. A held write is let go HOLD_MS after it was sent: past its own deadline, and
// well inside that of the operation issued at that deadline (500 ms to spare on either side on a loaded runner).
const TIMEOUT_MS = 1000
const HOLD_MS = 1500
// Past the deadline of the operation issued at the held write's timeout (2 × TIMEOUT_MS), by 1 s.
const LONG_HOLD_MS = 3000
const NS = 'ns'

let server: MemcachedServer
let proxy: HoldingProxy
const clients: MemcacheClient[] = []

beforeAll(async () => {
  server = await startMemcached(PORT)
  proxy = await startProxy(server.port)
}, 15_000)

afterAll(async () => {
  for (const c of clients) c.shutdown()
  proxy?.close()
  await server?.stop()
}, 15_000)

const rand = (): string => randomBytes(6).toString('hex')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// cmdTimeout above every hold: at its cmdTimeout memcache-client closes the connection, and the proxy then drops
// the bytes it holds.
function memcacheClient(server: string, maxConnections: number): MemcachedClient {
  const c = new MemcacheClient({ server: { server, maxConnections }, cmdTimeout: 10_000 })
  clients.push(c)
  return fromMemcacheClient(c)
}

/** The client, with the name of every command the storage sends appended to `sent`. */
function recording(client: MemcachedClient, sent: string[]): MemcachedClient {
  const wrapped: Record<string, unknown> = { ...client }
  for (const [name, member] of Object.entries(client)) {
    if (typeof member !== 'function') continue
    wrapped[name] = (...args: unknown[]) => {
      sent.push(name)
      return member.apply(client, args)
    }
  }
  return wrapped as unknown as MemcachedClient
}

type Leased = Required<AsyncStorage>

/**
 * A storage through the proxy on a memcache-client with 4 connections (the held one, and idle ones for what comes
 * next), recording the commands it sends; and one with the same prefix straight on the server, to see what it holds.
 */
async function storages(): Promise<{ storage: Leased; truth: AsyncStorage; sent: string[] }> {
  const prefix = `order-${rand()}`
  const sent: string[] = []
  const client = recording(memcacheClient(`127.0.0.1:${proxy.port}`, 4), sent)
  const storage = memcachedStorage({ client, prefix, operationTimeoutMs: TIMEOUT_MS }) as Leased
  const truth = memcachedStorage({ client: memcacheClient(server.address, 1), prefix })
  // The namespace version exists and the storage remembers it; its connections are open.
  await storage.set(NS, 'warm', 1)
  await Promise.all([storage.get(NS, 'warm'), storage.get(NS, 'a'), storage.get(NS, 'b'), storage.get(NS, 'c')])
  return { storage, truth, sent }
}

type Write = (storage: Leased, key: string, value: string) => Promise<unknown>

/** Writes `stale` to `key` with its bytes held `ms` by the proxy: the write times out for its caller. */
async function timedOut(storage: Leased, write: Write, key: string, ms: number): Promise<Held> {
  const stale = `stale-${rand()}`
  const held = proxy.holdNext(stale, ms)
  await expect(write(storage, key, stale)).rejects.toThrow(`timed out after ${TIMEOUT_MS} ms`)
  expect(held.received()).toContain(stale)
  return held
}

const set: Write = (storage, key, value) => storage.set(NS, key, value)
const add: Write = (storage, key, value) => storage.add(NS, key, value)
const token = (): string => randomBytes(16).toString('hex')
// The holder's fenced write: its entry `set` is the command held (the lease's `gets` went before it).
const setIfLeased: Write = async (storage, key, value) => {
  const own = token()
  expect(await storage.acquireLease(NS, key, own, 30_000)).toBe(true)
  return storage.setIfLeased(NS, key, value, own)
}

describe('a write that timed out while its bytes were held on their way (memcache-client, 4 connections)', () => {
  it.each<[string, Write]>([
    ['a set', set],
    ['an add', add],
    ['a setIfLeased', setIfLeased],
  ])('%s does not land after the delete issued at its timeout', async (_, write) => {
    const { storage, truth } = await storages()
    const key = `k-${rand()}`
    const held = await timedOut(storage, write, key, HOLD_MS)
    await storage.delete(NS, key)
    await held.answered
    expect(await truth.get(NS, key)).toBeUndefined()
  })

  it('a set does not land after the newer set issued at its timeout (a refresh after a slow write)', async () => {
    const { storage, truth } = await storages()
    const key = `k-${rand()}`
    const held = await timedOut(storage, set, key, HOLD_MS)
    await storage.set(NS, key, 'fresh')
    await held.answered
    expect((await truth.get(NS, key))?.value).toBe('fresh')
  })

  it('a delete whose wait for it outlives its own deadline rejects with the timeout and sends nothing', async () => {
    const { storage, truth, sent } = await storages()
    const key = `k-${rand()}`
    const held = await timedOut(storage, set, key, LONG_HOLD_MS)
    const before = sent.length
    await expect(storage.delete(NS, key)).rejects.toThrow(`memcached delete on 127.0.0.1:${proxy.port} timed out`)
    await held.answered
    // The delete's body runs once the set is answered: its first command would go out now.
    await sleep(300)
    expect(sent.slice(before)).toEqual([])
    // So the held value stands: the delete failed, as its caller was told.
    expect((await truth.get(NS, key))?.value).toMatch(/^stale-/)
  })
})
