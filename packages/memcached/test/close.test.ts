// close(): operations issued before it finish first (each within operationTimeoutMs), later ones reject at once
// with a StorageError and send nothing to your client (which you may have closed: a call would connect it again),
// and core's background retries of a failed clear on this storage end (storageClosed). Your client stays open.
// Own memcached on MEMCACHED_CLOSE_PORT (default 21420); the retries (the storage-test-suite's close checks) over
// the port after it, where nothing listens.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { fromMemjs, type MemcachedClient, memcachedStorage } from '@memokit/memcached'
import { runCloseChecks } from '@memokit/storage-test-suite'
import memjs from 'memjs'
import { freeze, type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_CLOSE_PORT', 21420)
const quiet = { log: () => undefined }
let server: MemcachedServer
const clients: memjs.Client[] = []

beforeAll(async () => {
  server = await startMemcached(PORT)
}, 20_000)
afterAll(async () => {
  for (const client of clients) client.close()
  await server?.stop()
})

/** A memjs client through the adapter, with every call of the adapter counted. */
function counted(port: number): { client: MemcachedClient; calls: () => number } {
  const raw = memjs.Client.create(`127.0.0.1:${port}`, { logger: quiet, timeout: 0.3, retries: 1 })
  clients.push(raw)
  const client = fromMemjs(raw)
  let calls = 0
  const record = client as unknown as Record<string, unknown>
  for (const [name, member] of Object.entries(record)) {
    if (typeof member !== 'function') continue
    const wrapped = (...args: unknown[]) => {
      calls++
      return (member as (...a: unknown[]) => unknown).apply(client, args)
    }
    // READ_MULTI and other symbol-keyed fast paths stay as they are: the hit path is checked by its own count below.
    Object.assign(wrapped, member)
    record[name] = wrapped
  }
  return { client, calls: () => calls }
}

describe('memcachedStorage close()', () => {
  it('refuses every later operation at once, with a StorageError, and sends nothing to the client', async () => {
    const { client, calls } = counted(PORT)
    const storage = memcachedStorage({ client, prefix: 'close-refuse', operationTimeoutMs: 500 })
    await storage.set('ns', 'k', 'v')
    // Twice: the second read is the remembered-version fast path.
    expect((await storage.get('ns', 'k'))?.value).toBe('v')
    expect((await storage.get('ns', 'k'))?.value).toBe('v')
    await storage.close()
    const before = calls()
    const attempts: [string, () => Promise<unknown>][] = [
      ['get', () => storage.get('ns', 'k')],
      ['get', () => storage.getMany?.('ns', ['k', 'j']) as Promise<unknown>],
      ['set', () => storage.set('ns', 'k', 'w')],
      ['delete', () => storage.delete('ns', 'k')],
      ['clear', () => storage.clear('ns')],
    ]
    for (const [op, attempt] of attempts) {
      const error = await attempt().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StorageError)
      expect((error as StorageError).op).toBe(op)
      expect((error as Error).message).toBe(`memcached ${op} after close(): this storage is closed`)
    }
    expect(calls()).toBe(before)
    // The client is the user's: still open and answering.
    expect((await client.get('anything')) ?? null).toBeNull()
  })

  it('waits for an operation in flight before it resolves', async () => {
    const { client } = counted(PORT)
    const storage = memcachedStorage({ client, prefix: 'close-drain', operationTimeoutMs: 2_000 })
    await storage.set('ns', 'warm', 1)
    await freeze(server.pid)
    let closed = false
    let written: Promise<void>
    try {
      written = storage.set('ns', 'k', 'v')
      const closing = storage.close().then(() => {
        closed = true
      })
      await new Promise((resolve) => setTimeout(resolve, 150))
      expect(closed).toBe(false)
      process.kill(server.pid, 'SIGCONT')
      await written
      await closing
    } finally {
      process.kill(server.pid, 'SIGCONT')
    }
    expect(closed).toBe(true)
    const reader = memcachedStorage({ client, prefix: 'close-drain' })
    expect((await reader.get('ns', 'k'))?.value).toBe('v')
  })
})

runCloseChecks(
  { describe, it },
  {
    name: 'memcached',
    port: PORT + 1,
    open: (port) =>
      memcachedStorage({ client: counted(port).client, prefix: 'close-retries', operationTimeoutMs: 200 }),
  },
)
