// The storage's read-and-continue member (GET_THEN, hit.ts) against its `get`, on a real memcached this file starts:
// hits, misses, expired and corrupt entries, namespace versions replaced by another replica's clear (the fast
// path's remembered version is then stale), a dead and a hung server. Core's hit path reads through GET_THEN, so
// it must answer exactly what `get` answers, through the callbacks, never before it has returned.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { type AsyncStorage, CodecError, createCodec, type Entry, StorageError } from '@memokit/core'
import { GET_THEN, type GetThen } from '@memokit/core/backend'
import fc from 'fast-check'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { memcachedForFile } from './memcached-for-file'
import { freeze, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_GETTHEN_PORT', 11333)
// A server of the fault test's own, killed and frozen there.
const FAULT_PORT = portFromEnv('MEMCACHED_GETTHEN_FAULT_PORT', 11334)
const quiet = { log: () => undefined }
const NS = 'ns'

const file = memcachedForFile(PORT)
const { closers } = file

// memjs' own request timeout far above the storage's operationTimeoutMs: memokit's deadline must be what fires.
function memjsClient(address = file.server.address): memjs.Client {
  const client = memjs.Client.create(address, { logger: quiet, timeout: 5, retries: 1 })
  closers.push(() => client.close())
  return client
}

type Outcome = { entry: Entry | undefined } | { error: unknown }

/** Reads through GET_THEN: exactly one callback, after GET_THEN returned, and the promise settles with its value. */
async function readThen(storage: AsyncStorage, key: string): Promise<Outcome> {
  const member = (storage as unknown as Record<symbol, GetThen>)[GET_THEN] as GetThen
  let returned = false
  const seen: Outcome[] = []
  const marker = {}
  const promise = member.call(
    storage,
    NS,
    key,
    (entry) => {
      expect(returned).toBe(true)
      seen.push({ entry })
      return marker
    },
    (error) => {
      expect(returned).toBe(true)
      seen.push({ error })
      return marker
    },
  )
  returned = true
  expect(await promise).toBe(marker)
  expect(seen).toHaveLength(1)
  return seen[0] as Outcome
}

async function readGet(storage: AsyncStorage, key: string): Promise<Outcome> {
  return storage.get(NS, key).then(
    (entry) => ({ entry }),
    (error: unknown) => ({ error }),
  )
}

// Errors compare by class and message (each read makes its own).
const comparable = (o: Outcome) =>
  'entry' in o ? o : { errorClass: (o.error as Error).constructor.name, message: (o.error as Error).message }

// The general read (run + readEntry + withState), which the fast path (hit.ts) must equal: a storage on the same
// keys whose client has no getMulti never takes it.
function plainTwin(client: MemcachedClient, p: string): AsyncStorage {
  const { getMulti: _, ...rest } = client
  return memcachedStorage({ client: rest, prefix: p })
}

/** GET_THEN, the storage's get and the general read of `plain` give the same outcome. */
async function agree(storage: AsyncStorage, plain: AsyncStorage, key: string): Promise<Outcome> {
  const viaThen = await readThen(storage, key)
  const viaGet = await readGet(storage, key)
  const viaPlain = await readGet(plain, key)
  expect(comparable(viaThen)).toEqual(comparable(viaPlain))
  expect(comparable(viaGet)).toEqual(comparable(viaPlain))
  return viaThen
}

const prefix = (): string => `gt${process.pid}-${randomBytes(4).toString('hex')}`

describe('GET_THEN answers what get answers', () => {
  it('after random sets, deletes and clears by this and another replica (a stale remembered version)', async () => {
    const KEYS = ['a', 'ab', 'b', 'ba']
    const step = fc.oneof(
      fc.record({ op: fc.constant('set' as const), by: fc.nat(1), key: fc.constantFrom(...KEYS), value: fc.nat(9) }),
      fc.record({ op: fc.constant('delete' as const), by: fc.nat(1), key: fc.constantFrom(...KEYS) }),
      fc.record({ op: fc.constant('clear' as const), by: fc.nat(1), keyPrefix: fc.constantFrom(undefined, 'a', 'b') }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), fc.boolean(), async (steps, trust) => {
        const p = prefix()
        // With versionCacheMs the reader trusts its remembered version: only its own clears count at once, so the
        // model holds for its own steps; get and GET_THEN must still agree on every read.
        const client = fromMemjs(memjsClient())
        const reader = memcachedStorage({ client, prefix: p, versionCacheMs: trust ? 60_000 : 0 })
        const plain = plainTwin(client, p)
        const other = memcachedStorage({ client: fromMemjs(memjsClient()), prefix: p })
        const model = new Map<string, number>()
        for (const s of steps) {
          const by = s.by === 0 || trust ? reader : other
          if (s.op === 'set') {
            await by.set(NS, s.key, s.value)
            model.set(s.key, s.value)
          } else if (s.op === 'delete') {
            await by.delete(NS, s.key)
            model.delete(s.key)
          } else {
            await by.clear(NS, s.keyPrefix)
            for (const key of [...model.keys()]) if (key.startsWith(s.keyPrefix ?? '')) model.delete(key)
          }
          // Each key in turn comes first: only the first read after another replica's clear finds the
          // remembered version stale (it remembers the new one).
          const first = steps.indexOf(s) % KEYS.length
          for (const key of [...KEYS.slice(first), ...KEYS.slice(0, first)]) {
            const outcome = await agree(reader, plain, key)
            expect('entry' in outcome && outcome.entry?.value).toBe(model.get(key) ?? undefined)
          }
        }
      }),
      { numRuns: 25 },
    )
  }, 120_000)

  it('after another replica replaced the namespace version: no entry of the old one, then the new value', async () => {
    for (const keyPrefix of [undefined, 'k']) {
      const p = prefix()
      const client = fromMemjs(memjsClient())
      const reader = memcachedStorage({ client, prefix: p })
      const plain = plainTwin(client, p)
      const other = memcachedStorage({ client: fromMemjs(memjsClient()), prefix: p })
      await reader.set(NS, 'k', 'old')
      expect(await agree(reader, plain, 'k')).toEqual({ entry: expect.objectContaining({ value: 'old' }) })
      await other.clear(NS, keyPrefix)
      // The reader still remembers the replaced version: its first read finds it stale.
      expect(await readThen(reader, 'k')).toEqual({ entry: undefined })
      await other.set(NS, 'k', 'new')
      await other.clear(NS, 'unrelated')
      expect(await readThen(reader, 'k')).toEqual({ entry: expect.objectContaining({ value: 'new' }) })
      expect(await agree(reader, plain, 'k')).toEqual({ entry: expect.objectContaining({ value: 'new' }) })
    }
  })

  it('hands onEntry the entry get returns: value, times and meta; a miss is undefined', async () => {
    const p = prefix()
    const client = fromMemjs(memjsClient())
    const storage = memcachedStorage({ client, prefix: p })
    const plain = plainTwin(client, p)
    await storage.set(NS, 'k', { nested: ['x', 1] }, { ttl: 60_000, meta: { promise: true } })
    await storage.get(NS, 'k')
    const hit = await agree(storage, plain, 'k')
    expect(hit).toEqual({ entry: expect.objectContaining({ value: { nested: ['x', 1] }, meta: { promise: true } }) })
    expect(await agree(storage, plain, 'absent')).toEqual({ entry: undefined })
  })

  it('an entry past its ms expiry (memcached keeps it up to a second longer) is a miss both ways', async () => {
    const p = prefix()
    const client = fromMemjs(memjsClient())
    const storage = memcachedStorage({ client, prefix: p })
    const plain = plainTwin(client, p)
    await storage.set(NS, 'k', 'live')
    await storage.get(NS, 'k')
    const raw = memjsClient()
    const version = (await raw.get(`${p}:${NS}:~version`)).value?.toString()
    const payload = createCodec().encodeEntry({
      value: 'stale',
      createdAt: Date.now() - 2000,
      expiresAt: Date.now() - 1,
    })
    await raw.set(`${p}:${NS}:${version}:k`, payload, { expires: 60 })
    expect(await agree(storage, plain, 'k')).toEqual({ entry: undefined })
  })

  it('a corrupt entry is the same CodecError both ways, through onError', async () => {
    const p = prefix()
    const client = fromMemjs(memjsClient())
    const storage = memcachedStorage({ client, prefix: p })
    const plain = plainTwin(client, p)
    await storage.set(NS, 'k', 'fine')
    await storage.get(NS, 'k')
    const raw = memjsClient()
    const version = (await raw.get(`${p}:${NS}:~version`)).value?.toString()
    await raw.set(`${p}:${NS}:${version}:k`, 'not an entry', { expires: 60 })
    const outcome = await agree(storage, plain, 'k')
    expect('error' in outcome && outcome.error).toBeInstanceOf(CodecError)
  })

  for (const adapter of ['memjs', 'memcache-client'] as const) {
    it(`${adapter}: a dead server and a hung one are the same StorageError both ways (after a remembered version)`, async () => {
      const own = await startMemcached(FAULT_PORT)
      const client =
        adapter === 'memjs'
          ? fromMemjs(memjsClient(own.address))
          : (() => {
              const c = new MemcacheClient({ server: own.address, cmdTimeout: 5000, connectTimeout: 500 })
              closers.push(() => c.shutdown())
              return fromMemcacheClient(c)
            })()
      const p = prefix()
      const storage = memcachedStorage({ client, prefix: p, operationTimeoutMs: 300 })
      const { getMulti: _, ...rest } = client
      const plain = memcachedStorage({ client: rest, prefix: p, operationTimeoutMs: 300 })
      try {
        await storage.set(NS, 'k', 1)
        expect(await agree(storage, plain, 'k')).toEqual({ entry: expect.objectContaining({ value: 1 }) })
        await freeze(own.pid)
        const hung = await agree(storage, plain, 'k')
        expect('error' in hung && hung.error).toBeInstanceOf(StorageError)
        expect('error' in hung && (hung.error as Error).message).toMatch(/timed out after 300 ms/)
        process.kill(own.pid, 'SIGCONT')
        await own.stop('SIGKILL')
        // The first read after the kill may see the old connection reset; every later one is refused.
        await storage.get(NS, 'k').catch(() => undefined)
        await plain.get(NS, 'k').catch(() => undefined)
        const dead = await agree(storage, plain, 'k')
        expect('error' in dead && dead.error).toBeInstanceOf(StorageError)
      } finally {
        await own.stop('SIGKILL')
      }
    }, 30_000)
  }

  it('what onEntry throws rejects the promise, onError untouched', async () => {
    const storage = memcachedStorage({ client: fromMemjs(memjsClient()), prefix: prefix() })
    await storage.set(NS, 'k', 1)
    await storage.get(NS, 'k')
    const thrown = new Error('from onEntry')
    let errors = 0
    const member = (storage as unknown as Record<symbol, GetThen>)[GET_THEN] as GetThen
    const result = member.call(
      storage,
      NS,
      'k',
      () => {
        throw thrown
      },
      () => errors++,
    )
    await expect(result).rejects.toBe(thrown)
    expect(errors).toBe(0)
  })
})
