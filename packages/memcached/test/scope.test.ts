// Where a memcachedStorage writes (scope: server + prefix, never credentials), the default prefix, unknown options,
// failures naming the server, and entries written before meta existed; against a real memcached this file starts.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from '@jest/globals'
import { ConfigError, StorageError } from '@memokit/core'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { memcachedForFile } from './memcached-for-file'
import { portFromEnv } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_SCOPE_PORT', 11314)
// Nothing listens here.
const DEAD_PORT = portFromEnv('MEMCACHED_SCOPE_DEAD_PORT', 11315)
const quiet = { log: () => undefined }
const rand = (): string => randomBytes(6).toString('hex')

const file = memcachedForFile(PORT)
const { closers } = file
const memjsClient = (address: string, retries = 1): memjs.Client => {
  const client = memjs.Client.create(address, { logger: quiet, timeout: 0.3, retries })
  closers.push(() => client.close())
  return client
}

describe('scope', () => {
  it('is the server and prefix, equal through either adapter, different per prefix and server', () => {
    const viaMemjs = memcachedStorage({ client: fromMemjs(memjsClient('127.0.0.1:11211')), prefix: 'shop' })
    const other = new MemcacheClient({ server: '127.0.0.1:11211' })
    closers.push(() => other.shutdown())
    const viaMemcacheClient = memcachedStorage({ client: fromMemcacheClient(other), prefix: 'shop' })
    expect(viaMemjs.scope).toBe('memcached://127.0.0.1:11211 shop:')
    expect(viaMemcacheClient.scope).toBe(viaMemjs.scope)
    const scopes = [
      viaMemjs.scope,
      memcachedStorage({ client: fromMemjs(memjsClient('127.0.0.1:11211')), prefix: 'shop2' }).scope,
      memcachedStorage({ client: fromMemjs(memjsClient('127.0.0.1:11212')), prefix: 'shop' }).scope,
    ]
    expect(new Set(scopes).size).toBe(3)
  })

  it('never holds credentials', () => {
    const storage = memcachedStorage({ client: fromMemjs(memjsClient('app:s3cret@127.0.0.1:11211')), prefix: 'p' })
    expect(storage.scope).toBe('memcached://127.0.0.1:11211 p:')
  })

  it('is the client object for an adapter that does not name its server', () => {
    const bare = { ...fromMemjs(memjsClient(file.server.address)), server: undefined }
    const a = memcachedStorage({ client: bare, prefix: 'p' })
    expect(a.scope).toMatch(/^memcached-client#\d+ p:$/)
    expect(memcachedStorage({ client: bare, prefix: 'p' }).scope).toBe(a.scope)
    expect(memcachedStorage({ client: { ...bare }, prefix: 'p' }).scope).not.toBe(a.scope)
  })
})

describe('default prefix', () => {
  it("is memokit/<name> from the application's package.json", async () => {
    const { name } = JSON.parse(readFileSync(resolve(process.cwd(), 'package.json'), 'utf8')) as { name: string }
    const client = fromMemjs(memjsClient(file.server.address))
    const storage = memcachedStorage({ client })
    expect(storage.scope).toBe(`memcached://${file.server.address} memokit/${name}:`)
    const ns = `ns-${rand()}`
    await storage.set(ns, 'k', 'v')
    expect((await memcachedStorage({ client, prefix: `memokit/${name}` }).get(ns, 'k'))?.value).toBe('v')
    expect(await memcachedStorage({ client, prefix: 'memokit' }).get(ns, 'k')).toBeUndefined()
  })
})

describe('options', () => {
  const client = (): MemcachedClient => fromMemjs(memjsClient(file.server.address))
  const thrown = (fn: () => unknown): unknown => {
    try {
      fn()
    } catch (error) {
      return error
    }
    return undefined
  }

  it('rejects an unknown option with a ConfigError listing the valid ones', () => {
    const error = thrown(() => memcachedStorage({ client: client(), ttl: 5 } as never))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ option: 'ttl' })
    expect((error as Error).message).toContain(
      'valid options are client, prefix, codec, operationTimeoutMs, versionCacheMs',
    )
    expect((thrown(() => memcachedStorage({ client: client(), versionCache: 5 } as never)) as Error).message).toContain(
      "did you mean 'versionCacheMs'?",
    )
  })

  it('rejects a client.server that is not a string', () => {
    expect(thrown(() => memcachedStorage({ client: { ...client(), server: 11211 } as never }))).toMatchObject({
      option: 'client',
    })
  })
})

describe('failures name the server', () => {
  it('on every failed operation, keeping the client error as cause', async () => {
    const storage = memcachedStorage({
      client: fromMemjs(memjsClient(`127.0.0.1:${DEAD_PORT}`, 0)),
      prefix: 'p',
      operationTimeoutMs: 2000,
    })
    for (const op of [() => storage.get('ns', 'k'), () => storage.set('ns', 'k', 1), () => storage.get('ns', 'k')]) {
      const error = await op().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(StorageError)
      expect((error as Error).message).toMatch(new RegExp(`^memcached (get|set) on 127\\.0\\.0\\.1:${DEAD_PORT} `))
      expect((error as Error).cause).toBeDefined()
    }
  })

  it('in a timeout', async () => {
    const hung = {
      ...fromMemjs(memjsClient(file.server.address)),
      get: () => new Promise<never>(() => {}),
    }
    const storage = memcachedStorage({ client: hung, prefix: 'p', operationTimeoutMs: 50 })
    await expect(storage.get('ns', 'k')).rejects.toThrow(
      new RegExp(`^memcached get on 127\\.0\\.0\\.1:${PORT} timed out after 50 ms`),
    )
  })
})

describe('entries written before meta existed', () => {
  it('still read, without meta', async () => {
    const inner = fromMemjs(memjsClient(file.server.address))
    const written: string[] = []
    const recording: MemcachedClient = {
      ...inner,
      set: (key, value, exptime) => {
        written.push(key)
        return inner.set(key, value, exptime)
      },
    }
    const storage = memcachedStorage({ client: recording, prefix: `old-${rand()}` })
    await storage.set('ns', 'k', 'new format')
    const entryKey = written.find((key) => !key.endsWith(':~version')) as string
    const createdAt = Date.now()
    await inner.set(entryKey, `e${createdAt},,j{"a":[1,"x,\\"y"]};`, 0)
    const entry = await storage.get('ns', 'k')
    expect(entry).toEqual({ value: { a: [1, 'x,"y'] }, createdAt, expiresAt: undefined })
    expect(entry?.meta).toBeUndefined()
  })
})
