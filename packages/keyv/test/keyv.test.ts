// What is specific to keyvStorage: options, the choice of clear mode, scope, the keys and values Keyv receives,
// foreign data, and living next to cache-manager on one Keyv.
import { afterAll, describe, expect, it } from '@jest/globals'
import KeyvRedis from '@keyv/redis'
import { CodecError, ConfigError, cacheValue, createCodec, StorageError } from '@memokit/core'
import { createCache } from 'cache-manager'
import Keyv from 'keyv'
import { keyvStorage } from '../src'
import { cleanupRedis, REDIS_URL, RUN, rawClient, redisKeyv, redisStore } from './redis-env'

afterAll(() => cleanupRedis(), 30_000)

/** A Keyv store adapter over a Map that can't list its keys (like @keyv/memcache): Keyv gives it no iterator. */
function unlistedStore() {
  const map = new Map<string, unknown>()
  return {
    map,
    opts: {},
    get: async (key: string) => map.get(key),
    set: async (key: string, value: unknown) => void map.set(key, value),
    delete: async (key: string) => map.delete(key),
    clear: async () => map.clear(),
    on: () => undefined,
  }
}

describe('options', () => {
  const keyv = new Keyv()

  it('rejects a non-Keyv first argument, naming what to pass', () => {
    expect(() => keyvStorage(undefined as never)).toThrow(ConfigError)
    expect(() => keyvStorage(new Map() as never)).toThrow(/Keyv 5 instance/)
    // A bare adapter is the classic slip: the message says to wrap it.
    const bare = new KeyvRedis(REDIS_URL)
    expect(() => keyvStorage(bare as never)).toThrow(/new Keyv\(\{ store \}\)/)
  })

  it('rejects unknown options with the closest name, and a non-object', () => {
    expect(() => keyvStorage(keyv, { prefx: 'a' } as never)).toThrow(
      /unknown option 'prefx' \(did you mean 'prefix'\?\)/,
    )
    expect(() => keyvStorage(keyv, { ttl: 5 } as never)).toThrow(ConfigError)
    expect(() => keyvStorage(keyv, null as never)).toThrow(/takes an options object, got null/)
  })

  it('checks clearBy, operationTimeoutMs, codec and prefix', () => {
    expect(() => keyvStorage(keyv, { clearBy: 'scan' as never })).toThrow(/'iterator' or 'generation'/)
    expect(() => keyvStorage(keyv, { operationTimeoutMs: 0 })).toThrow(/operationTimeoutMs/)
    expect(() => keyvStorage(keyv, { codec: {} as never })).toThrow(ConfigError)
    expect(() => keyvStorage(keyv, { prefix: 'a\uD800' })).toThrow(/prefix/)
  })

  it("refuses a prefix Keyv wouldn't put its namespace before", () => {
    // Keyv leaves keys starting with '<namespace>:' alone: 'keyv:n…' would then meet another storage's key.
    const error = (() => {
      try {
        keyvStorage(new Keyv(), { prefix: 'keyv' })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toMatch(/equals the Keyv namespace "keyv"/)
    expect(() => keyvStorage(new Keyv({ namespace: 'a:b' }), { prefix: 'a' })).toThrow(ConfigError)
    // Without a key prefix from Keyv, any prefix is fine.
    expect(keyvStorage(new Keyv({ useKeyPrefix: false }), { prefix: 'keyv' }).scope).toContain(' keyv:')
  })

  it('defaults the prefix to memokit/<package name>', () => {
    expect(keyvStorage(new Keyv()).scope).toMatch(/ keyv:memokit\/memokit-monorepo: /)
  })
})

describe('which clear mode a Keyv gets', () => {
  it('iterator for the in-memory Map and @keyv/redis, generation for a store that cannot list', () => {
    expect(keyvStorage(new Keyv(), { prefix: 'p' }).scope).toMatch(/\(clearBy iterator\)$/)
    expect(keyvStorage(redisKeyv(), { prefix: 'p' }).scope).toMatch(/\(clearBy iterator\)$/)
    expect(keyvStorage(new Keyv({ store: unlistedStore() }), { prefix: 'p' }).scope).toMatch(/\(clearBy generation\)$/)
  })

  it('generation when the iterator would cut keys wrongly (no namespace, or one with ":")', () => {
    expect(keyvStorage(new Keyv({ namespace: undefined }), { prefix: 'p' }).scope).toMatch(/generation\)$/)
    expect(keyvStorage(new Keyv({ namespace: 'a:b' }), { prefix: 'p' }).scope).toMatch(/generation\)$/)
    expect(keyvStorage(new Keyv({ namespace: undefined, useKeyPrefix: false }), { prefix: 'p' }).scope).toMatch(
      /iterator\)$/,
    )
  })

  it("refuses clearBy 'iterator' where it can't work, saying why", () => {
    expect(() => keyvStorage(new Keyv({ store: unlistedStore() }), { clearBy: 'iterator' })).toThrow(
      /this Keyv has no iterator/,
    )
    expect(() => keyvStorage(new Keyv({ namespace: undefined }), { clearBy: 'iterator' })).toThrow(/no namespace/)
  })
})

describe('scope', () => {
  it('names a @keyv/redis server by URL and database, without credentials', () => {
    const plain = keyvStorage(new Keyv({ store: redisStore('redis://127.0.0.1:6379') }), { prefix: 'p' })
    const zero = keyvStorage(new Keyv({ store: redisStore('redis://127.0.0.1:6379/0') }), { prefix: 'p' })
    const secret = keyvStorage(new Keyv({ store: redisStore('redis://app:s3cret@127.0.0.1:6379/0') }), {
      prefix: 'p',
    })
    expect(plain.scope).toBe('keyv redis://127.0.0.1:6379/0 keyv::keyv:p: (clearBy iterator)')
    expect(zero.scope).toBe(plain.scope)
    expect(secret.scope).toBe(plain.scope)
    const db2 = keyvStorage(new Keyv({ store: redisStore('redis://127.0.0.1:6379/2') }), { prefix: 'p' })
    expect(db2.scope).not.toBe(plain.scope)
  })

  it('tells in-memory Maps apart by object, and includes the Keyv namespace and clear mode', () => {
    const map = new Map()
    const a = keyvStorage(new Keyv({ store: map }), { prefix: 'p' })
    expect(keyvStorage(new Keyv({ store: map }), { prefix: 'p' }).scope).toBe(a.scope)
    expect(keyvStorage(new Keyv({ store: new Map() }), { prefix: 'p' }).scope).not.toBe(a.scope)
    expect(keyvStorage(new Keyv({ store: map, namespace: 'other' }), { prefix: 'p' }).scope).not.toBe(a.scope)
    expect(keyvStorage(new Keyv({ store: map }), { prefix: 'p', clearBy: 'generation' }).scope).not.toBe(a.scope)
  })
})

describe('what Keyv receives', () => {
  it('a codec string under <ns>::<ns>:<prefix>:n<namespace>:k<key>, and the ttl in whole ms', async () => {
    const namespace = `${RUN}-layout`
    const storage = keyvStorage(redisKeyv(REDIS_URL, namespace), { prefix: 'p:%' })
    await storage.set('users:1', 'fn:%x', { at: new Date(5) }, { ttl: 1500.2, meta: { promise: true } })
    const physical = `${namespace}::${namespace}:p%3A%25:nusers%3A1:kfn%3A%25x`
    const client = await rawClient()
    const stored = await client.get(physical)
    // Keyv wraps what it is given in its own JSON; memokit gave it a string.
    const { value } = JSON.parse(stored as string) as { value: unknown }
    expect(typeof value).toBe('string')
    const entry = createCodec().decodeEntry(value as string)
    expect(entry).toEqual({
      value: { at: new Date(5) },
      createdAt: entry.createdAt,
      expiresAt: entry.createdAt + 1500.2,
      meta: { promise: true },
    })
    const pttl = await client.pTTL(physical)
    expect(pttl).toBeGreaterThan(1000)
    expect(pttl).toBeLessThanOrEqual(1501)
  })

  it('refuses lone surrogates in namespaces and keys (UTF-8 stores would merge them)', async () => {
    const storage = keyvStorage(new Keyv(), { prefix: 'p' })
    await expect(storage.set('ns', 'a\uD800', 1)).rejects.toThrow(StorageError)
    await expect(storage.get('ns\uDC00', 'a')).rejects.toThrow(/lone UTF-16 surrogate/)
  })

  it('reads a foreign value as a CodecError, and delete removes it', async () => {
    const keyv = new Keyv()
    const storage = keyvStorage(keyv, { prefix: 'p' })
    await keyv.set('p:nns:kforeign', { not: 'memokit' })
    await expect(storage.get('ns', 'foreign')).rejects.toThrow(CodecError)
    await keyv.set('p:nns:kcorrupt', 'not a payload')
    await expect(storage.get('ns', 'corrupt')).rejects.toThrow(CodecError)
    expect(await storage.delete('ns', 'corrupt')).toBe(false)
    expect(await keyv.get('p:nns:kcorrupt')).toBeUndefined()
  })
})

describe('next to cache-manager on one Keyv', () => {
  it("shares the store without touching cache-manager's keys, clears included", async () => {
    const keyv = redisKeyv(REDIS_URL, `${RUN}-cm`)
    const cache = createCache({ stores: [keyv] })
    await cache.set('user:1', { name: 'Ada' })
    let loads = 0
    const storage = keyvStorage(keyv, { prefix: 'svc' })
    const load = cacheValue(
      async (id: number) => {
        loads++
        return { id }
      },
      { storage, namespace: 'users', name: 'load' },
    )
    expect(await load(1)).toEqual({ id: 1 })
    expect(await load(1)).toEqual({ id: 1 })
    expect(loads).toBe(1)
    await storage.clear('users')
    expect(await load(1)).toEqual({ id: 1 })
    expect(loads).toBe(2)
    expect(await cache.get('user:1')).toEqual({ name: 'Ada' })
  })
})
