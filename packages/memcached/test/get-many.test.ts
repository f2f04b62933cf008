// getMany on memcached, per adapter, against a real memcached this file starts: the answers `get` gives, in the
// order asked, under the namespace's current version (clears of the namespace and of a key prefix), in one
// multi-get with memcache-client and memjs (GETKQ..., GETK), and concurrent gets with a memjs adapter without getMulti.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CodecError } from '@memokit/core'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_GETMANY_PORT', 11326)
let server: MemcachedServer
let memjsClient: memjs.Client
let memcacheClient: MemcacheClient

beforeAll(async () => {
  server = await startMemcached(PORT)
  memjsClient = memjs.Client.create(server.address, { logger: { log: () => undefined }, timeout: 2, retries: 1 })
  memcacheClient = new MemcacheClient({ server: server.address, cmdTimeout: 1000 })
}, 15_000)

afterAll(async () => {
  memjsClient?.close()
  memcacheClient?.shutdown()
  await server?.stop()
}, 15_000)

// The adapter's client, recording each command it is asked for and the keys `set` wrote (all go to the server).
function recording(client: MemcachedClient): { client: MemcachedClient; commands: string[]; written: string[] } {
  const commands: string[] = []
  const written: string[] = []
  const wrapped: MemcachedClient = {
    get: (key) => {
      commands.push('get')
      return client.get(key)
    },
    set: (key, value, exptime) => {
      written.push(key)
      return client.set(key, value, exptime)
    },
    add: (key, value, exptime) => client.add(key, value, exptime),
    append: (key, value) => client.append(key, value),
    delete: (key) => client.delete(key),
  }
  const { getMulti } = client
  if (getMulti !== undefined) {
    wrapped.getMulti = (keys) => {
      commands.push('getMulti')
      return getMulti.call(client, keys)
    }
  }
  return { client: wrapped, commands, written }
}

// The plain path (a get per key) stays covered: an adapter may have no getMulti.
function withoutMulti(client: MemcachedClient): MemcachedClient {
  const { getMulti: _, ...rest } = client
  return rest
}

const adapters = [
  { name: 'memjs', client: () => fromMemjs(memjsClient), multi: true },
  { name: 'memjs without getMulti', client: () => withoutMulti(fromMemjs(memjsClient)), multi: false },
  { name: 'memcache-client', client: () => fromMemcacheClient(memcacheClient), multi: true },
]
const rand = (): string => Math.random().toString(36).slice(2, 10)

for (const adapter of adapters) {
  describe(`memcached getMany via ${adapter.name}`, () => {
    it('answers as get does, in the order asked, in one multi-get when the client has one', async () => {
      const rec = recording(adapter.client())
      const storage = memcachedStorage({ client: rec.client, prefix: `gm-${rand()}`, versionCacheMs: 0 })
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
      for (const [i, k] of keys.entries()) if (i % 3 !== 2) await storage.set('ns', k, { i, at: new Date(i) })
      const asked = [...keys].reverse().concat(['k0', 'missing'])
      rec.commands.length = 0
      const found = await storage.getMany?.('ns', asked)
      // The namespace version is known from the writes: read again with the entries (one command with getMulti).
      expect(rec.commands).toEqual(adapter.multi ? ['getMulti'] : Array(asked.length + 1).fill('get'))
      expect(found).toEqual(await Promise.all(asked.map((k) => storage.get('ns', k))))
      expect(found?.[asked.length - 2]?.value).toEqual({ i: 0, at: new Date(0) })
      rec.commands.length = 0
      expect(await storage.getMany?.('ns', [])).toEqual([])
      expect(rec.commands).toEqual([])
    })

    it('sees clears of the namespace and of a key prefix, also from another storage object', async () => {
      const prefix = `gm-${rand()}`
      const a = memcachedStorage({ client: adapter.client(), prefix })
      const b = memcachedStorage({ client: adapter.client(), prefix, versionCacheMs: 0 })
      for (const k of ['x1', 'x2', 'y1']) await a.set('ns', k, k)
      expect((await b.getMany?.('ns', ['x1', 'y1', 'x2']))?.map((e) => e?.value)).toEqual(['x1', 'y1', 'x2'])
      await a.clear('ns', 'x')
      expect((await b.getMany?.('ns', ['x1', 'y1', 'x2']))?.map((e) => e?.value)).toEqual([undefined, 'y1', undefined])
      await a.clear('ns')
      expect(await b.getMany?.('ns', ['x1', 'y1'])).toEqual([undefined, undefined])
      expect(await b.getMany?.(`never-${rand()}`, ['x1'])).toEqual([undefined])
    })

    it('rejects with the CodecError get gives when one payload among good ones is corrupt', async () => {
      const rec = recording(adapter.client())
      const storage = memcachedStorage({ client: rec.client, prefix: `gm-${rand()}` })
      for (const k of ['a', 'b', 'c']) await storage.set('ns', k, k)
      await rec.client.set(rec.written.at(-2) as string, 'not a memokit payload', 60)
      const fromGet = await storage.get('ns', 'b').catch((error: unknown) => error)
      expect(fromGet).toBeInstanceOf(CodecError)
      const fromMany = await storage.getMany?.('ns', ['a', 'b', 'c']).catch((error: unknown) => error)
      expect(fromMany).toBeInstanceOf(CodecError)
      expect((fromMany as Error).message).toBe((fromGet as Error).message)
      expect((await storage.getMany?.('ns', ['c', 'a']))?.map((e) => e?.value)).toEqual(['c', 'a'])
    })
  })
}

// memjs keeps a response handler marked `quiet` for every reply with a body and drops it at the first reply without
// one, or after a call that cleared the flag: memjs reads `quiet` after calling the handler. The multi-get ends with
// a GETK whose reply (hit or miss) has a body, and relies on that read to drop its handler.
describe('memjs multi-get: what it relies on in memjs', () => {
  type Handler = ((response: unknown) => void) & { quiet?: boolean }
  interface ServerInternals {
    onResponse(seq: number, handler: Handler): void
    respond(response: unknown): void
    responseCallbacks: Record<number, Handler | undefined>
    requestTimeouts: number[]
  }
  const serverOf = (client: memjs.Client): ServerInternals =>
    (client as unknown as { servers: ServerInternals[] }).servers[0] as ServerInternals

  it('drops a quiet handler after the call that cleared its flag, and not before', () => {
    const server = serverOf(memjs.Client.create('127.0.0.1:1', { logger: { log: () => undefined } }))
    const seen: number[] = []
    const handler: Handler = (response) => {
      const { opaque, opcode } = (response as { header: { opaque: number; opcode: number } }).header
      seen.push(opcode)
      if (opcode === 0x0c) handler.quiet = false
      expect(server.responseCallbacks[opaque]).toBe(handler)
    }
    handler.quiet = true
    server.onResponse(7, handler)
    server.requestTimeouts.push(Date.now() + 1000)
    const reply = (opcode: number) => ({ header: { opaque: 7, opcode, totalBodyLength: 10 } })
    server.respond(reply(0x0d))
    expect(server.responseCallbacks[7]).toBe(handler)
    server.respond(reply(0x0c))
    expect(seen).toEqual([0x0d, 0x0c])
    expect(server.responseCallbacks[7]).toBeUndefined()
    expect(server.requestTimeouts).toEqual([])
  })

  it('leaves no handler behind after hits, misses, one-key and two-key reads', async () => {
    const client = memjs.Client.create(server.address, { logger: { log: () => undefined }, timeout: 2, retries: 1 })
    try {
      const prefix = `gm${process.pid}-handlers`
      const storage = memcachedStorage({ client: fromMemjs(client), prefix })
      const trusting = memcachedStorage({ client: fromMemjs(client), prefix, versionCacheMs: 60_000 })
      await storage.set('ns', 'a', 1)
      for (const s of [storage, trusting]) {
        expect((await s.get('ns', 'a'))?.value).toBe(1)
        expect(await s.get('ns', 'absent')).toBeUndefined()
        expect((await s.getMany?.('ns', ['absent', 'a', 'absent']))?.map((e) => e?.value)).toEqual([
          undefined,
          1,
          undefined,
        ])
        expect((await Promise.all([s.get('ns', 'a'), s.get('ns', 'absent')])).map((e) => e?.value)).toEqual([
          1,
          undefined,
        ])
      }
      const internals = serverOf(client)
      expect(Object.keys(internals.responseCallbacks)).toEqual([])
      expect(internals.requestTimeouts).toEqual([])
    } finally {
      client.close()
    }
  })
})
