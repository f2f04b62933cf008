// The one-round-trip read (memjs multi-get of the namespace version and the entry under the version this process
// last saw) against the plain path (a memjs adapter without getMulti) and a model, on a real memcached this file
// starts: random sets, deletes, clears of the namespace and of key prefixes, from three replicas with their own
// clients, so the fast replica's remembered version is often dead when it reads. It must never answer an entry
// written under an older namespace version: every get and getMany must equal the model and the plain path.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { AsyncStorage } from '@memokit/core'
import fc from 'fast-check'
import memjs from 'memjs'
import { fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_FASTPATH_PORT', 11317)
const quiet = { log: () => undefined }

let server: MemcachedServer
const clients: memjs.Client[] = []

beforeAll(async () => {
  server = await startMemcached(PORT)
}, 15_000)

afterAll(async () => {
  for (const client of clients) client.close()
  await server?.stop()
}, 15_000)

function memjsClient(): memjs.Client {
  const client = memjs.Client.create(server.address, { logger: quiet, timeout: 2, retries: 1 })
  clients.push(client)
  return client
}

function withoutMulti(client: MemcachedClient): MemcachedClient {
  const { getMulti: _, ...rest } = client
  return rest
}

const GETK = 0x0c
const GETKQ = 0x0d

// The request buffers memjs's server connection is asked to write (one per socket write), from now on.
function countWrites(client: memjs.Client): Buffer[] {
  const server = (client as unknown as { servers: { write(b: Buffer): void }[] }).servers[0] as {
    write(b: Buffer): void
  }
  const write = server.write.bind(server)
  const writes: Buffer[] = []
  server.write = (b) => {
    writes.push(b)
    write(b)
  }
  return writes
}

// The opcodes of the binary-protocol requests in one write. Every header's unused fields (extras length, data
// type, vbucket, CAS) must be zeros: the request buffer comes from Node's pool, which holds old bytes.
function opcodesOf(buf: Buffer): number[] {
  const opcodes: number[] = []
  for (let at = 0; at < buf.length; at += 24 + buf.readUInt32BE(at + 8)) {
    expect([buf.readUInt32BE(at + 4), buf.readUInt32BE(at + 16), buf.readUInt32BE(at + 20)]).toEqual([0, 0, 0])
    opcodes.push(buf[at + 1] as number)
  }
  return opcodes
}

const KEYS = ['a', 'ab', 'b', 'ba', 'c'] as const
const PREFIXES = ['a', 'b'] as const
const replica = fc.constantFrom(0, 1, 2)
type Step =
  | { kind: 'set'; by: number; key: string; value: number }
  | { kind: 'delete'; by: number; key: string }
  | { kind: 'clear'; by: number; prefix: string | undefined }
  | { kind: 'get'; key: string }
  | { kind: 'getMany'; keys: string[] }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), by: replica, key: fc.constantFrom(...KEYS), value: fc.nat(99) }),
  fc.record({ kind: fc.constant('delete' as const), by: replica, key: fc.constantFrom(...KEYS) }),
  fc.record({
    kind: fc.constant('clear' as const),
    by: replica,
    prefix: fc.option(fc.constantFrom(...PREFIXES), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('get' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ kind: fc.constant('getMany' as const), keys: fc.array(fc.constantFrom(...KEYS), { maxLength: 4 }) }),
)

describe('memcached read through memjs multi-get (speculative version) vs the plain path', () => {
  it('writes the reads started in one tick to the server at once: 16 hits, one socket write, right values', async () => {
    const client = memjsClient()
    const storage = memcachedStorage({ client: fromMemjs(client), prefix: `fp${process.pid}-tick` })
    for (let k = 0; k < 16; k++) await storage.set('ns', `k${k}`, k)
    const writes = countWrites(client)
    const values = await Promise.all(Array.from({ length: 16 }, (_, k) => storage.get('ns', `k${k}`)))
    expect(writes).toHaveLength(1)
    expect(values.map((e) => e?.value)).toEqual(Array.from({ length: 16 }, (_, k) => k))
  })

  it('sends one sequential hit as one socket write: GETKQ version + GETK entry (GETK entry alone within versionCacheMs)', async () => {
    const client = memjsClient()
    const writes = countWrites(client)
    for (const [versionCacheMs, opcodes] of [
      [0, [GETKQ, GETK]],
      [60_000, [GETK]],
    ] as const) {
      const prefix = `fp${process.pid}-seq${versionCacheMs}`
      const storage = memcachedStorage({ client: fromMemjs(client), prefix, versionCacheMs })
      for (let k = 0; k < 4; k++) await storage.set('ns', `k${k}`, k)
      writes.length = 0
      for (let k = 0; k < 4; k++) expect((await storage.get('ns', `k${k}`))?.value).toBe(k)
      // One write per hit, nothing more after its reply, each carrying the reads of that hit only.
      expect(writes.map(opcodesOf)).toEqual(Array(4).fill(opcodes))
    }
  })

  it('answers the reads of one tick with shared, repeated and absent keys: each its own values, one write', async () => {
    const client = memjsClient()
    const storage = memcachedStorage({ client: fromMemjs(client), prefix: `fp${process.pid}-mix` })
    for (const [key, value] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      await storage.set('ns', key, value)
    const writes = countWrites(client)
    const [first, single, second] = await Promise.all([
      storage.getMany?.('ns', ['a', 'x', 'a']),
      storage.get('ns', 'b'),
      storage.getMany?.('ns', ['c', 'b', 'y', 'c', 'a']),
    ])
    expect(writes).toHaveLength(1)
    expect(first?.map((e) => e?.value)).toEqual([1, undefined, 1])
    expect(single?.value).toBe(2)
    expect(second?.map((e) => e?.value)).toEqual([3, 2, undefined, 3, 1])
  })

  it('answers every get and getMany as the plain path and the model do, across clears by other replicas', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const prefix = `fp${process.pid}-${run++}`
        const ns = 'ns'
        // 0: the fast path under test (multi-get), 1: the plain path, 2: another replica. Both readers also write.
        const fast = memcachedStorage({ client: fromMemjs(memjsClient()), prefix })
        const plain = memcachedStorage({ client: withoutMulti(fromMemjs(memjsClient())), prefix })
        const other = memcachedStorage({ client: fromMemjs(memjsClient()), prefix })
        const replicas: AsyncStorage[] = [fast, plain, other]
        const model = new Map<string, number>()
        const read = async (storage: AsyncStorage, key: string) => (await storage.get(ns, key))?.value
        for (const s of steps) {
          if (s.kind === 'set') {
            await replicas[s.by]?.set(ns, s.key, s.value)
            model.set(s.key, s.value)
          } else if (s.kind === 'delete') {
            await replicas[s.by]?.delete(ns, s.key)
            model.delete(s.key)
          } else if (s.kind === 'clear') {
            await replicas[s.by]?.clear(ns, s.prefix)
            for (const key of [...model.keys()])
              if (s.prefix === undefined || key.startsWith(s.prefix)) model.delete(key)
          } else if (s.kind === 'get') {
            const want = model.get(s.key)
            expect(await read(fast, s.key)).toBe(want)
            expect(await read(plain, s.key)).toBe(want)
          } else {
            const want = s.keys.map((key) => model.get(key))
            expect((await fast.getMany?.(ns, s.keys))?.map((e) => e?.value)).toEqual(want)
            expect((await plain.getMany?.(ns, s.keys))?.map((e) => e?.value)).toEqual(want)
          }
        }
        for (const client of clients.splice(0)) client.close()
      }),
      { numRuns: 60 },
    )
  }, 120_000)

  it('never answers an entry of the version a concurrent clear replaced: reads racing clears and rewrites', async () => {
    const prefix = `fp${process.pid}-race`
    const ns = 'ns'
    const fast = memcachedStorage({ client: fromMemjs(memjsClient()), prefix })
    const writer = memcachedStorage({ client: fromMemjs(memjsClient()), prefix })
    // Each generation g clears the namespace, then writes g: a read may see g-1's clear or g's write, but once a
    // read has seen generation g, no later read may see an older one, and no read a value of a cleared generation
    // after its clear completed.
    let cleared = -1
    for (let g = 0; g < 150; g++) {
      const readsStarted = cleared
      const reads = Array.from({ length: 8 }, () => fast.get(ns, 'k'))
      await writer.clear(ns)
      cleared = g - 1
      await writer.set(ns, 'k', g)
      for (const entry of await Promise.all(reads)) {
        // Started after generation `readsStarted`'s value was cleared: nothing older than the last set before.
        if (entry !== undefined) expect(entry.value as number).toBeGreaterThan(readsStarted)
      }
      expect((await fast.get(ns, 'k'))?.value).toBe(g)
    }
  }, 60_000)
})
