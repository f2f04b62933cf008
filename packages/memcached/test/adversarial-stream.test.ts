// Adversarial probes of the memcached storage's failure paths: a reply cut in the middle, through a TCP proxy in
// front of a memcached of our own (MEMCACHED_ADVERSARIAL_PORT and the next port for the proxy).
// memjs keeps a server's partial reply across connections: before fromMemjs guarded it (memjs-stream.ts), one reply
// cut mid-way (the connection dropped, or memjs's own timeout firing while a large value arrived) misframed every
// later reply of that server, so every command timed out for good with the server healthy. memcache-client
// recovers by itself; it runs the same checks.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { cacheValue, type ErrorReport } from '@memokit/core'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { type Cut, type CuttingProxy, startCuttingProxy } from '../../storage-test-suite/test/fixtures/cutting-proxy'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_ADVERSARIAL_PORT', 21500)
const PROXY_PORT = PORT + 1
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let proxy: CuttingProxy
let server: MemcachedServer

beforeAll(async () => {
  server = await startMemcached(PORT)
  proxy = await startCuttingProxy(PORT, PROXY_PORT)
}, 15_000)

afterAll(async () => {
  await proxy?.close()
  await server?.stop()
})

const adapters: ReadonlyArray<[string, () => { client: MemcachedClient; close(): void }]> = [
  [
    'memjs',
    () => {
      const c = memjs.Client.create(`127.0.0.1:${PROXY_PORT}`, { timeout: 0.3, retries: 1, logger: { log: () => {} } })
      return { client: fromMemjs(c), close: () => c.close() }
    },
  ],
  [
    'memcache-client',
    () => {
      const c = new MemcacheClient({ server: `127.0.0.1:${PROXY_PORT}`, cmdTimeout: 300, connectTimeout: 500 })
      return { client: fromMemcacheClient(c), close: () => c.shutdown() }
    },
  ],
]

const faults: ReadonlyArray<[string, Cut]> = [
  ['the connection dropped', { kind: 'drop', after: 100 }],
  ['the rest arriving after the client timed out', { kind: 'stall', after: 100, stallMs: 700 }],
]

/**
 * The values the reads expect, written straight to memcached with a patient client: through the proxy, memjs's
 * 300 ms timeout once expired on the 200 KB write on a loaded CI run, before any cut (the writes are set-up here).
 */
async function writeDirectly(prefix: string): Promise<void> {
  const direct = memjs.Client.create(`127.0.0.1:${PORT}`, { timeout: 5, logger: { log: () => {} } })
  const writer = memcachedStorage({ client: fromMemjs(direct), prefix, operationTimeoutMs: 5000 })
  try {
    await writer.set('ns', 'big', 'x'.repeat(200_000))
    await writer.set('ns', 'small', 'hello')
    await writer.set('ns', 'other', 'world')
  } finally {
    await writer.close()
    direct.close()
  }
}

describe.each(adapters)('a reply cut in the middle (%s)', (name, make) => {
  it.each(faults)(
    '%s: the next reads answer right, and cacheValue caches again',
    async (_fault, what) => {
      const { client, close } = make()
      try {
        const prefix = `adv-${name}-${what.kind}-${process.pid}`
        const storage = memcachedStorage({ client, prefix, operationTimeoutMs: 1000 })
        await writeDirectly(prefix)
        proxy.cutNext(what)
        await storage.get('ns', 'big').catch(() => undefined)
        expect(proxy.armed()).toBe(false)
        await sleep(800)
        // One more failure is allowed (the client may still fail what it had in flight); then every read answers.
        await storage.get('ns', 'small').catch(() => undefined)
        for (let i = 0; i < 5; i++) {
          expect((await storage.get('ns', 'small'))?.value).toBe('hello')
          expect((await storage.get('ns', 'other'))?.value).toBe('world')
          expect((await storage.get('ns', 'big'))?.value).toHaveLength(200_000)
        }
        const reports: ErrorReport[] = []
        let runs = 0
        const fn = cacheValue(
          async (id: number) => {
            runs++
            return `value-${id}`
          },
          { storage, name: 'f', namespace: 'calls', onError: (report) => reports.push(report) },
        )
        for (let i = 0; i < 3; i++) expect(await fn(1)).toBe('value-1')
        expect(runs).toBe(1)
        expect(reports).toEqual([])
      } finally {
        close()
      }
    },
    30_000,
  )
})
