// Where a redisStorage writes: its scope (server + database + key prefix, never credentials), the default prefix
// derived from the application's package.json, unknown options, and entries written before meta existed.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { ConfigError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClient, createClientPool, createCluster, createSentinel } from 'redis'
import { uid } from './counted'
import { disposer, envPort, sharedRedis } from './servers'

const cleanup = disposer()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
// Scope tests never connect: creating a storage or a node-redis client opens nothing.
const scopeOf = (options: RedisStorageOptions): string => open(options).scope

let shared: Awaited<ReturnType<typeof sharedRedis>>
let raw: ReturnType<typeof createClient>

beforeAll(async () => {
  shared = await sharedRedis(envPort('REDIS_SPARE_PORT', 7200) + 11)
  raw = cleanup.track(createClient({ url: shared.url }))
  raw.on('error', () => {})
  await raw.connect()
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await shared?.stop()
}, 60_000)

describe('scope', () => {
  it('is server, database and prefix, equal for two storages writing to the same place', () => {
    const scope = scopeOf({ url: 'redis://127.0.0.1:6379', prefix: 'shop' })
    expect(scope).toBe('redis://127.0.0.1:6379/0 shop:')
    expect(scopeOf({ url: 'redis://127.0.0.1:6379/0', prefix: 'shop' })).toBe(scope)
    expect(scopeOf({ url: 'redis://127.0.0.1', prefix: 'shop' })).toBe(scope)
    // Your own client on the same server and database writes to the same place.
    expect(scopeOf({ client: createClient({ url: 'redis://127.0.0.1:6379' }), prefix: 'shop' })).toBe(scope)
    expect(scopeOf({ client: createClient({ socket: { host: '127.0.0.1', port: 6379 } }), prefix: 'shop' })).toBe(scope)
  })

  it('differs by prefix, database, host, port, TLS and client keyPrefix', () => {
    const scopes = [
      scopeOf({ url: 'redis://127.0.0.1:6379', prefix: 'shop' }),
      scopeOf({ url: 'redis://127.0.0.1:6379', prefix: 'shop:x' }),
      scopeOf({ url: 'redis://127.0.0.1:6379', prefix: 'shop2' }),
      scopeOf({ url: 'redis://127.0.0.1:6379/1', prefix: 'shop' }),
      scopeOf({ url: 'redis://10.0.0.5:6379', prefix: 'shop' }),
      scopeOf({ url: 'redis://127.0.0.1:6380', prefix: 'shop' }),
      scopeOf({ url: 'rediss://127.0.0.1:6379', prefix: 'shop' }),
      scopeOf({ client: createClient({ url: 'redis://127.0.0.1:6379', keyPrefix: 'tenant:' }), prefix: 'shop' }),
    ]
    expect(new Set(scopes).size).toBe(scopes.length)
  })

  it('never holds credentials', () => {
    const scope = scopeOf({ url: 'redis://app:s3cret@127.0.0.1:6379/2', prefix: 'p' })
    expect(scope).toBe('redis://127.0.0.1:6379/2 p:')
    const own = scopeOf({ client: createClient({ url: 'redis://:s3cret@127.0.0.1:6379' }), prefix: 'p' })
    expect(own).not.toContain('s3cret')
  })

  it('names a cluster by its root nodes, in any order', () => {
    const a = createCluster({ rootNodes: [{ url: 'redis://10.0.0.1:7000' }, { url: 'redis://10.0.0.2:7000' }] })
    const b = createCluster({ rootNodes: [{ socket: { host: '10.0.0.2', port: 7000 } }, { url: 'redis://10.0.0.1' }] })
    const c = createCluster({ rootNodes: [{ url: 'redis://10.0.0.3:7000' }] })
    expect(scopeOf({ client: a, prefix: 'p' })).toBe('redis-cluster://10.0.0.1:7000,10.0.0.2:7000 p:')
    expect(scopeOf({ client: b, prefix: 'p' })).not.toBe(scopeOf({ client: c, prefix: 'p' }))
  })

  it('is the client object for a pool or a Sentinel client, which do not tell their server', () => {
    const pool = createClientPool({ url: 'redis://127.0.0.1:6379' })
    const otherPool = createClientPool({ url: 'redis://127.0.0.1:6379' })
    const sentinel = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: 26379 }] })
    expect(scopeOf({ client: pool, prefix: 'p' })).toBe(scopeOf({ client: pool, prefix: 'p' }))
    expect(scopeOf({ client: pool, prefix: 'p' })).not.toBe(scopeOf({ client: otherPool, prefix: 'p' }))
    expect(scopeOf({ client: sentinel, prefix: 'p' })).toMatch(/^redis-client#\d+ p:$/)
  })
})

describe('default prefix', () => {
  it("is memokit/<name> from the application's package.json, shown in scope and used for keys", async () => {
    // Under jest the entry script lies in node_modules, so the working directory's package.json names the app.
    const { name } = JSON.parse(readFileSync(resolve(process.cwd(), 'package.json'), 'utf8')) as { name: string }
    const storage = open({ url: shared.url })
    expect(storage.scope).toBe(`${open({ url: shared.url, prefix: `memokit/${name}` }).scope}`)
    const ns = uid('default-prefix')
    await storage.set(ns, 'k', 'v', { ttl: 10_000 })
    expect(await raw.exists(`memokit/${name}:${ns}:k`)).toBe(1)
    await storage.clear(ns)
  })
})

describe('options', () => {
  it('rejects an unknown option with a ConfigError listing the valid ones', () => {
    let thrown: unknown
    try {
      redisStorage({ url: 'redis://127.0.0.1:6379', ttl: 5 } as RedisStorageOptions)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    expect(thrown).toMatchObject({ option: 'ttl' })
    expect((thrown as Error).message).toContain('valid options are url, client, prefix, codec, operationTimeoutMs')
    expect(() => redisStorage({ url: 'redis://127.0.0.1:6379', prefx: 'a' } as RedisStorageOptions)).toThrow(
      "did you mean 'prefix'?",
    )
  })

  it('tells a caller passing the URL itself to pass { url }, without echoing the password', () => {
    let thrown: unknown
    try {
      redisStorage('redis://:s3cret@127.0.0.1:6379' as unknown as RedisStorageOptions)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    expect((thrown as Error).message).toContain("pass { url }: redisStorage({ url: 'redis://127.0.0.1:6379' })")
    expect((thrown as Error).message).not.toContain('s3cret')
  })

  it('rejects a prefix with a lone surrogate', () => {
    expect(() => redisStorage({ url: 'redis://127.0.0.1:6379', prefix: 'a\uD800' })).toThrow(ConfigError)
  })
})

describe('entries written before meta existed', () => {
  it('still read, without meta', async () => {
    const prefix = uid('oldpayload')
    const storage = open({ url: shared.url, prefix })
    const createdAt = Date.now()
    await raw.set(`${prefix}:ns:k`, `e${createdAt},${createdAt + 60_000},j{"a":[1,"x,\\"y"]};`, {
      expiration: { type: 'PX', value: 60_000 },
    })
    const entry = await storage.get('ns', 'k')
    expect(entry).toEqual({ value: { a: [1, 'x,"y'] }, createdAt, expiresAt: createdAt + 60_000 })
    expect(entry?.meta).toBeUndefined()
    await storage.clear('ns')
  })
})
