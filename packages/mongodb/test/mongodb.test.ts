import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { CodecError, ConfigError, StorageError } from '@memokit/core'
import { defaultPrefix } from '@memokit/core/backend'
import { mongoStorage } from '@memokit/mongodb'
import { runStorageContract } from '@memokit/storage-test-suite'
import { type Collection, type Document, MongoClient } from 'mongodb'
import type { MongoClientLike } from '../src/index'
import { REAL_MONGODB_URL, uniqueName } from './server'
import { useTestCollection } from './test-collection'

// Against the stand-in unless MONGODB_URL points at a real server (see README, "Testing").
const t = useTestCollection('cache', 'MEMOKIT_MONGO_PORT', 27117)
const { database, collection } = t
let url = ''
let raw: MongoClient
let rawCollection: Collection<Document>
// After useTestCollection's own beforeAll, which connects them.
beforeAll(() => {
  ;({ url, raw, rawCollection } = t)
})

const rand = (): string => randomBytes(6).toString('hex')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A storage on this run's collection, with a random prefix unless given; closed by the caller. */
const open = (options: { prefix?: string; operationTimeoutMs?: number } = {}) =>
  mongoStorage({ url, database, collection, prefix: options.prefix ?? `t-${rand()}`, ...options })

const rawDoc = (prefix: string, ns: string, k: string) => rawCollection.findOne({ p: prefix, ns, k })
const mustDoc = async (prefix: string, ns: string, k: string): Promise<Document> => {
  const doc = await rawDoc(prefix, ns, k)
  if (doc === null) throw new Error(`no document for ${prefix} ${ns} ${k}`)
  return doc
}

/**
 * The real client, with `after(method, args)` awaited after each collection call returns (every call still goes
 * to the server). Used to count calls, or to slip in what a real server does on its own schedule.
 */
const observed = (real: MongoClient, after: (method: string, args: unknown[]) => Promise<void>): MongoClientLike => ({
  db: (name) => {
    const db = real.db(name)
    return {
      collection: (c) =>
        new Proxy(db.collection(c), {
          get(target, property, receiver) {
            const member = Reflect.get(target, property, receiver)
            if (typeof member !== 'function') return member
            return async (...args: unknown[]) => {
              const result = await member.apply(target, args)
              await after(String(property), args)
              return result
            }
          },
        }) as unknown as ReturnType<ReturnType<MongoClientLike['db']>['collection']>,
    }
  },
})

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: `mongodb (url${REAL_MONGODB_URL ? '' : ', stand-in'})`,
    create: ({ prefix }) => mongoStorage({ url, database, collection, prefix }),
    leases: true,
    scope: {
      // The same server through another client and another spelling of the URL (a default database in the path):
      // still the same place.
      createSame: ({ prefix }) =>
        mongoStorage({ url: url.replace(/\/(\?|$)/, '/otherdb$1'), database, collection, prefix }),
      createElsewhere: ({ prefix }) => mongoStorage({ url, database, collection: `${collection}_elsewhere`, prefix }),
    },
  },
)

describe('own client', () => {
  let client: MongoClient
  beforeAll(async () => {
    client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
  })
  afterAll(async () => {
    await client.close()
  })

  runStorageContract(
    { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
    {
      name: `mongodb (own client${REAL_MONGODB_URL ? '' : ', stand-in'})`,
      create: ({ prefix }) => mongoStorage({ client, database, collection, prefix }),
      leases: true,
      // A storage from the URL reaches the same server as this client: same scope.
      scope: { createSame: ({ prefix }) => mongoStorage({ url, database, collection, prefix }) },
    },
  )

  it('close() leaves the user client open and usable', async () => {
    const prefix = `t-${rand()}`
    const storage = mongoStorage({ client, database, collection, prefix })
    const ns = rand()
    await storage.set(ns, 'a', 1)
    await storage.close()
    await expect(storage.get(ns, 'a')).rejects.toMatchObject({ name: 'StorageError', op: 'get' })
    const ping = await client.db(database).command({ ping: 1 })
    expect(ping.ok).toBe(1)
    // A new storage on the same client still reads what the closed one wrote.
    const again = mongoStorage({ client, database, collection, prefix })
    expect((await again.get(ns, 'a'))?.value).toBe(1)
  })
})

describe('indexes', () => {
  it('creates them once per storage, with the first operation, even for concurrent first calls', async () => {
    const real = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
    const calls: string[] = []
    const counting = observed(real, async (method) => {
      calls.push(method)
    })
    try {
      const storage = mongoStorage({ client: counting, database, collection, prefix: `t-${rand()}` })
      expect(calls).toEqual([])
      const ns = rand()
      await Promise.all(Array.from({ length: 10 }, (_, i) => storage.set(ns, `k${i}`, i)))
      for (let i = 0; i < 10; i++) await storage.get(ns, `k${i}`)
      await storage.add(ns, 'new', 1)
      await storage.delete(ns, 'k0')
      await storage.clear(ns)
      expect(calls.filter((c) => c === 'createIndexes')).toHaveLength(1)
      // One round trip per operation: 10 sets, 10 gets, an add of a new key, a delete, a clear.
      expect(calls.filter((c) => c !== 'createIndexes')).toHaveLength(23)
      await storage.close()
    } finally {
      await real.close()
    }
  })

  // The stand-in accepts conflicting index options, so there the conflict is injected (the real-server version
  // of this test, further down, makes MongoDB refuse a real conflicting index).
  if (REAL_MONGODB_URL === undefined) {
    it('fail with a StorageError that says how to fix an index conflict, and are retried by the next call', async () => {
      const real = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
      let refuse = true
      const conflict = Object.assign(new Error('An equivalent index already exists with a different name'), {
        code: 85,
      })
      const client = observed(real, async (method) => {
        if (method === 'createIndexes' && refuse) {
          refuse = false
          throw conflict
        }
      })
      const storage = mongoStorage({ client, database, collection })
      try {
        const error = await storage.set(rand(), 'k', 1).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(StorageError)
        expect(error).toMatchObject({
          op: 'set',
          message: expect.stringMatching(/creating the indexes .*different name.* createIndexes: false/),
        })
        expect(((error as StorageError).cause as Error).cause).toBe(conflict)
        await storage.set(rand(), 'k', 1)
      } finally {
        await storage.close()
        await real.close()
      }
    })
  }

  it('skips index creation with createIndexes: false', async () => {
    const real = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
    const name = uniqueName('noidx')
    try {
      const storage = mongoStorage({ client: real, database, collection: name, createIndexes: false })
      await storage.set(rand(), rand(), 1)
      const indexes = await real.db(database).collection(name).listIndexes().toArray()
      expect(indexes.map((i) => i.name)).toEqual(['_id_'])
      await storage.close()
      await real.db(database).collection(name).drop()
    } finally {
      await real.close()
    }
  })

  it('are a unique index on { p, ns, k } and a TTL index on e expiring at the stored date, both partial', async () => {
    const storage = open()
    await storage.set(rand(), rand(), 1)
    await storage.close()
    const indexes = await rawCollection.listIndexes().toArray()
    const key = indexes.find((i) => i.name === 'memokit_key_v2')
    const ttl = indexes.find((i) => i.name === 'memokit_ttl_v2')
    // Only memokit's documents: other documents in the collection are neither duplicates nor expired by memokit.
    const partialFilterExpression = { p: { $exists: true }, ns: { $exists: true } }
    expect(key).toMatchObject({ key: { p: 1, ns: 1, k: 1 }, unique: true, partialFilterExpression })
    expect(Object.keys(key?.key ?? {})).toEqual(['p', 'ns', 'k'])
    expect(ttl).toMatchObject({ key: { e: 1 }, expireAfterSeconds: 0, partialFilterExpression })
  })

  it('connects once for concurrent first calls of a url storage, and not at all before them', async () => {
    const connect = jest.spyOn(MongoClient.prototype, 'connect')
    try {
      const storage = open()
      expect(connect).not.toHaveBeenCalled()
      const ns = rand()
      await Promise.all(Array.from({ length: 8 }, (_, i) => storage.get(ns, `k${i}`)))
      await storage.set(ns, 'x', 1)
      expect(connect).toHaveBeenCalledTimes(1)
      await storage.close()
    } finally {
      connect.mockRestore()
    }
  })
})

describe('documents', () => {
  it('keep prefix, namespace and key in separate fields, the value as a codec payload and dates as BSON Dates', async () => {
    const prefix = `t-${rand()}`
    const storage = open({ prefix })
    const ns = `n:${rand()}`
    const before = Date.now()
    await storage.set(ns, 'fn:[1]', { a: [1, 2] }, { ttl: 60_000 })
    const doc = await mustDoc(prefix, ns, 'fn:[1]')
    expect(typeof doc.v).toBe('string')
    expect(doc.c).toBeInstanceOf(Date)
    expect(doc.e).toBeInstanceOf(Date)
    const c = (doc.c as Date).getTime()
    expect(c).toBeGreaterThanOrEqual(before)
    expect((doc.e as Date).getTime()).toBe(c + 60_000)
    expect(Object.keys(doc).sort()).toEqual(['_id', 'c', 'e', 'k', 'ns', 'p', 'v'])
    // The TTL monitor only considers BSON dates.
    expect(await rawCollection.countDocuments({ p: prefix, e: { $type: 'date' } })).toBe(1)
    await storage.set(ns, 'forever', 1)
    expect(Object.keys((await rawDoc(prefix, ns, 'forever')) ?? {})).not.toContain('e')
    await storage.close()
  })

  it('store a top-level Buffer or Uint8Array as BSON Binary and read it back as the same type', async () => {
    const prefix = `t-${rand()}`
    const storage = open({ prefix })
    const ns = rand()
    const bytes = randomBytes(64)
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9])
    const view = backing.subarray(2, 5)
    await storage.set(ns, 'buf', bytes)
    await storage.set(ns, 'u8', view)
    const bufDoc = await mustDoc(prefix, ns, 'buf')
    const u8Doc = await mustDoc(prefix, ns, 'u8')
    expect(bufDoc.v?._bsontype).toBe('Binary')
    expect(bufDoc.t).toBe('b')
    expect(Buffer.from(bufDoc.v.value()).toString('hex')).toBe(bytes.toString('hex'))
    expect(u8Doc.v?._bsontype).toBe('Binary')
    expect(u8Doc.t).toBe('u')
    expect([...u8Doc.v.value()]).toEqual([1, 2, 3])
    const buf = (await storage.get(ns, 'buf'))?.value
    const u8 = (await storage.get(ns, 'u8'))?.value
    expect(Buffer.isBuffer(buf)).toBe(true)
    expect((buf as Buffer).toString('hex')).toBe(bytes.toString('hex'))
    expect(Object.getPrototypeOf(u8)).toBe(Uint8Array.prototype)
    expect(u8).toEqual(new Uint8Array([1, 2, 3]))
    expect((u8 as Uint8Array).buffer.byteLength).toBe(3)
    // Overwriting bytes with a plain value drops the byte type marker.
    await storage.set(ns, 'buf', 'text')
    expect((await storage.get(ns, 'buf'))?.value).toBe('text')
    expect(Object.keys((await rawDoc(prefix, ns, 'buf')) ?? {})).not.toContain('t')
    await storage.close()
  })

  it('an overwrite replaces the value and moves (or removes) the expiry, keeping one document', async () => {
    const prefix = `t-${rand()}`
    const storage = open({ prefix })
    const ns = rand()
    await storage.set(ns, 'k', 1, { ttl: 60_000 })
    const first = await mustDoc(prefix, ns, 'k')
    await sleep(5)
    await storage.set(ns, 'k', 2, { ttl: 120_000 })
    const second = await mustDoc(prefix, ns, 'k')
    expect((second.e as Date).getTime()).toBeGreaterThanOrEqual((first.e as Date).getTime() + 60_000)
    expect((second.c as Date).getTime()).toBeGreaterThan((first.c as Date).getTime())
    expect(second._id).toEqual(first._id)
    const entry = await storage.get(ns, 'k')
    expect(entry).toEqual({
      value: 2,
      createdAt: (second.c as Date).getTime(),
      expiresAt: (second.e as Date).getTime(),
    })
    await storage.set(ns, 'k', 3)
    expect(await storage.get(ns, 'k')).toMatchObject({ value: 3, expiresAt: undefined })
    expect((await rawDoc(prefix, ns, 'k'))?.e).toBeUndefined()
    expect(await rawCollection.countDocuments({ p: prefix, ns, k: 'k' })).toBe(1)
    await storage.close()
  })
})

describe('expired documents the TTL monitor has not removed yet', () => {
  // Written straight into the collection with an expiry in the past: exactly what sits there between the expiry
  // and the TTL monitor's next pass (it runs about once a minute).
  const plant = async (prefix: string, ns: string, k: string, v: unknown = '1"stale"') => {
    await rawCollection.insertOne({
      p: prefix,
      ns,
      k,
      v,
      c: new Date(Date.now() - 2000),
      e: new Date(Date.now() - 1000),
    })
  }

  it('are never returned by get although still in the collection', async () => {
    const prefix = `t-${rand()}`
    const storage = open({ prefix })
    const ns = rand()
    await plant(prefix, ns, 'k')
    expect(await rawDoc(prefix, ns, 'k')).not.toBeNull()
    expect(await storage.get(ns, 'k')).toBeUndefined()
    await storage.close()
  })

  it('expire on time when written with a short ttl', async () => {
    const prefix = `t-${rand()}`
    const storage = open({ prefix })
    const ns = rand()
    const start = Date.now()
    await storage.set(ns, 'k', 'v', { ttl: 150 })
    expect((await storage.get(ns, 'k'))?.value).toBe('v')
    await sleep(start + 160 - Date.now())
    expect(await storage.get(ns, 'k')).toBeUndefined()
    await storage.close()
  })

  it('count as absent for add even when the TTL monitor removes one between add’s two steps', async () => {
    const real = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
    const prefix = `t-${rand()}`
    const ns = rand()
    // What the TTL monitor may do at any moment, done right after add found the expired document.
    const monitor = observed(real, async (method) => {
      if (method === 'findOneAndUpdate') await rawCollection.deleteMany({ p: prefix, ns, e: { $lte: new Date() } })
    })
    try {
      const storage = mongoStorage({ client: monitor, database, collection, prefix })
      await plant(prefix, ns, 'k')
      expect(await storage.add(ns, 'k', 'fresh')).toBe(true)
      expect((await storage.get(ns, 'k'))?.value).toBe('fresh')
      expect(await storage.add(ns, 'k', 'again')).toBe(false)
      await storage.close()
    } finally {
      await real.close()
    }
  })

  it('count as absent for delete (false, and removed) and add (replaced, true)', async () => {
    const prefix = `t-${rand()}`
    const storage = open({ prefix })
    const ns = rand()
    await plant(prefix, ns, 'd')
    expect(await storage.delete(ns, 'd')).toBe(false)
    expect(await rawDoc(prefix, ns, 'd')).toBeNull()
    await plant(prefix, ns, 'a')
    expect(await storage.add(ns, 'a', 'fresh', { ttl: 60_000 })).toBe(true)
    expect((await storage.get(ns, 'a'))?.value).toBe('fresh')
    expect(await storage.add(ns, 'a', 'again')).toBe(false)
    expect(await rawCollection.countDocuments({ p: prefix, ns, k: 'a' })).toBe(1)
    await storage.close()
  })
})

describe('expiry at its edges', () => {
  it('an entry whose expiresAt is now is expired for get, getMany and delete, and absent for add', async () => {
    const storage = open()
    const ns = rand()
    await storage.set(ns, 'k', 'v', { ttl: 60_000 })
    const expiresAt = (await storage.get(ns, 'k'))?.expiresAt as number
    const clock = jest.spyOn(Date, 'now').mockReturnValue(expiresAt)
    try {
      expect(await storage.get(ns, 'k')).toBeUndefined()
      expect(await storage.getMany?.(ns, ['k'])).toEqual([undefined])
      expect(await storage.delete(ns, 'k')).toBe(false)
      await storage.set(ns, 'k', 'v', { ttl: 1 })
      clock.mockReturnValue(expiresAt + 1)
      expect(await storage.add(ns, 'k', 'added')).toBe(true)
    } finally {
      clock.mockRestore()
      await storage.close()
    }
  })

  // new Date(now + ttl) past the last valid Date is an Invalid Date, which the driver writes as the epoch.
  it('a ttl beyond the last valid Date keeps the entry and the lease (expiry capped at 8.64e15 ms)', async () => {
    const storage = open()
    const ns = rand()
    try {
      for (const ttl of [1e16, Number.MAX_SAFE_INTEGER, 1e300]) {
        await storage.set(ns, `k${ttl}`, 'v', { ttl })
        expect(await storage.get(ns, `k${ttl}`)).toMatchObject({ value: 'v', expiresAt: 8.64e15 })
      }
      const [holder, other] = ['h'.repeat(16), 'o'.repeat(16)]
      expect(await storage.acquireLease(ns, 'leased', holder, Number.MAX_SAFE_INTEGER)).toBe(true)
      expect(await storage.acquireLease(ns, 'leased', other, 1000)).toBe(false)
      expect(await storage.extendLease(ns, 'leased', holder, 1e300)).toBe(true)
      expect(await storage.acquireLease(ns, 'leased', other, 1000)).toBe(false)
      expect(await storage.setIfLeased(ns, 'leased', 'fenced', holder)).toBe(true)
      expect((await storage.get(ns, 'leased'))?.value).toBe('fenced')
    } finally {
      await storage.close()
    }
  })
})

describe('corrupt documents', () => {
  it.each([
    ['a payload of an unknown format', { v: '9garbage' }],
    ['an unparsable payload', { v: '1{not json' }],
    ['a value that is not a payload', { v: 42 }],
    ['an unknown byte type', { v: Buffer.from('x'), t: 'zz' }],
    ['a non-date expiry', { v: '1{"json":1}', e: 'tomorrow' }],
    ['a missing creation date', { v: '1{"json":1}', c: undefined }],
  ])('with %s make get reject with a CodecError', async (_label, fields) => {
    const prefix = `t-${rand()}`
    const storage = open({ prefix })
    const ns = rand()
    const doc: Document = { p: prefix, ns, k: 'k', c: new Date(), ...fields }
    if (doc.c === undefined) delete doc.c
    await rawCollection.insertOne(doc)
    await expect(storage.get(ns, 'k')).rejects.toBeInstanceOf(CodecError)
    // ...and set overwrites it.
    await storage.set(ns, 'k', 'ok')
    expect((await storage.get(ns, 'k'))?.value).toBe('ok')
    await storage.close()
  })
})

describe('clear', () => {
  it('removes exactly one namespace of one prefix, whatever regex metacharacters they hold', async () => {
    const prefixes = ['p', 'p.*', '^p', 'p|q', 'p$', '.*', 'P', `p${rand()}`]
    const namespaces = ['ns', 'ns.*', '.*', 'n.', '^ns', 'ns$', '[n]s', '(ns)', 'ns|x', 'ns\\', '', 'ns\nx']
    const run = rand()
    const storages = prefixes.map((p) => open({ prefix: `${p}${run}` }))
    const both = prefixes.map((p) => `${p}${run}`)
    for (const s of storages) for (const ns of namespaces) await s.set(ns, 'k', `${ns}`)
    const target = storages[1]
    await target?.clear('.*')
    for (const [i, s] of storages.entries()) {
      for (const ns of namespaces) {
        const cleared = i === 1 && ns === '.*'
        expect([both[i], ns, (await s.get(ns, 'k'))?.value]).toEqual([both[i], ns, cleared ? undefined : ns])
      }
    }
    expect(await rawCollection.countDocuments({ p: { $in: both } })).toBe(prefixes.length * namespaces.length - 1)
    for (const s of storages) await s.close()
  })

  it('with a key prefix removes only that namespace’s keys starting with it, taken literally', async () => {
    const storage = open()
    const other = open()
    const ns = rand()
    const keys = ['f(x):1', 'f(x):2', 'f(x)', 'f(x)::', 'fxx):1', 'f(x:1', 'F(x):1', 'a f(x):1', '.*', 'f.*:1', 'f\0:1']
    for (const k of keys) await storage.set(ns, k, k)
    await storage.set(`${ns}x`, 'f(x):1', 1)
    await other.set(ns, 'f(x):1', 1)
    await storage.clear(ns, 'f(x):')
    const left = []
    for (const k of keys) if ((await storage.get(ns, k)) !== undefined) left.push(k)
    expect(left).toEqual(keys.filter((k) => !k.startsWith('f(x):')))
    expect(await storage.get(`${ns}x`, 'f(x):1')).toBeDefined()
    expect(await other.get(ns, 'f(x):1')).toBeDefined()
    await storage.clear(ns, '.*')
    expect(await storage.get(ns, '.*')).toBeUndefined()
    expect(await storage.get(ns, 'f.*:1')).toBeDefined()
    await storage.clear(ns, 'f\0')
    expect(await storage.get(ns, 'f\0:1')).toBeUndefined()
    expect(await storage.get(ns, 'fxx):1')).toBeDefined()
    await storage.close()
    await other.close()
  })
})

describe('lone UTF-16 surrogates', () => {
  it('in a namespace, key or key prefix are refused with a StorageError and nothing is written', async () => {
    const prefix = `t-${rand()}`
    const storage = open({ prefix })
    const ns = rand()
    // In UTF-8 both would become "x\uFFFD": one document for two keys, a wrong value for one of them.
    await storage.set(ns, 'x\uFFFD', 'replacement char')
    for (const call of [
      () => storage.set(ns, 'x\uD800', 'lone high'),
      () => storage.set(`${ns}\uDC00`, 'k', 1),
      () => storage.get(ns, 'x\uDC00'),
      () => storage.add(ns, 'x\uD800', 1),
      () => storage.delete(ns, 'x\uD800'),
      () => storage.clear(ns, 'x\uD800'),
      () => storage.clear(`${ns}\uD800`),
    ]) {
      await expect(call()).rejects.toMatchObject({ name: 'StorageError', message: expect.stringMatching(/surrogate/) })
    }
    expect((await storage.get(ns, 'x\uFFFD'))?.value).toBe('replacement char')
    expect(await rawCollection.countDocuments({ p: prefix })).toBe(1)
    // A well-formed pair is fine.
    await storage.set(ns, 'x\uD83D\uDE00', 'emoji')
    expect((await storage.get(ns, 'x😀'))?.value).toBe('emoji')
    await storage.close()
  })
})

describe('options', () => {
  const base = { url: 'mongodb://127.0.0.1:1' }
  it.each([
    ['database', { database: 'a.b' }, /database "a\.b" contains "\."/],
    ['database', { database: 'a/b' }, /contains "\/"/],
    ['database', { database: 'my db' }, /contains " "/],
    ['database', { database: 'x$' }, /contains "\$"/],
    ['database', { database: 'a'.repeat(64) }, /64 bytes/],
    ['database', { database: 'ü'.repeat(32) }, /64 bytes/],
    ['database', { database: '' }, /non-empty string/],
    ['collection', { collection: '' }, /non-empty string/],
    ['collection', { collection: 'a$b' }, /"\$"/],
    ['collection', { collection: 'system.cache' }, /system\./],
    ['collection', { collection: 'c'.repeat(250) }, /255 bytes/],
    ['operationTimeoutMs', { operationTimeoutMs: 0 }, /positive, finite/],
    ['operationTimeoutMs', { operationTimeoutMs: Number.NaN }, /positive, finite/],
    ['operationTimeoutMs', { operationTimeoutMs: Number.POSITIVE_INFINITY }, /positive, finite/],
    ['prefix', { prefix: 1 }, /prefix must be a string without lone UTF-16 surrogates/],
    ['prefix', { prefix: 'a\uD800' }, /lone UTF-16 surrogate/],
    ['codec', { codec: {} }, /codec must be/],
    ['codec', { codec: { encode: () => '' } }, /codec must be/],
    ['createIndexes', { createIndexes: 'yes' }, /boolean/],
    ['url', { url: undefined }, /url .* or client/],
    ['url', { url: 'http://127.0.0.1' }, /mongodb:\/\//],
    ['url', { url: 'mongodb://' }, /invalid MongoDB url/],
    ['url', { client: {} as MongoClientLike }, /either url or client/],
    ['client', { url: undefined, client: {} as MongoClientLike }, /client must be a MongoClient/],
    ['clientOptions', { url: undefined, client: new MongoClient('mongodb://x'), clientOptions: {} }, /only apply/],
  ])('rejects a bad %s eagerly with a ConfigError: %j', (option, patch, message) => {
    const connect = jest.spyOn(MongoClient.prototype, 'connect')
    try {
      let error: unknown
      try {
        mongoStorage({ ...base, ...(patch as object) })
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect(error).toMatchObject({ option, code: 'E_CONFIG', message: expect.stringMatching(message) })
      expect(connect).not.toHaveBeenCalled()
    } finally {
      connect.mockRestore()
    }
  })

  it("accepts names at the limits and defaults to database memokit, collection cache, prefix memokit/<app's name>", async () => {
    expect(() => mongoStorage({ ...base, database: 'a'.repeat(63), collection: 'a-b.c d' })).not.toThrow()
    const storage = mongoStorage({ url })
    const ns = rand()
    const k = rand()
    await storage.set(ns, k, 1)
    const docs = raw.db('memokit').collection('cache')
    const prefix = defaultPrefix('mongoStorage')
    expect(prefix).toMatch(/^memokit\/./)
    expect(await docs.findOne({ p: prefix, ns, k })).toMatchObject({ p: prefix, ns, k })
    await storage.clear(ns)
    await storage.close()
  })
})

describe('close', () => {
  it('of a url storage closes its client once, is idempotent, and makes later operations reject', async () => {
    const close = jest.spyOn(MongoClient.prototype, 'close')
    try {
      const storage = open()
      await storage.set(rand(), 'k', 1)
      await storage.close()
      await storage.close()
      expect(close).toHaveBeenCalledTimes(1)
      for (const call of [() => storage.get('n', 'k'), () => storage.set('n', 'k', 1), () => storage.clear('n')]) {
        const error = await call().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(StorageError)
        expect(error).toMatchObject({ storage: 'mongodb', message: expect.stringMatching(/closed/) })
      }
    } finally {
      close.mockRestore()
    }
  })

  it('before any operation neither connects nor fails', async () => {
    const connect = jest.spyOn(MongoClient.prototype, 'connect')
    try {
      const storage = open()
      await storage.close()
      expect(connect).not.toHaveBeenCalled()
    } finally {
      connect.mockRestore()
    }
  })
})

// Only a real server enforces unique indexes and runs the TTL monitor: these checks are defined only with
// MONGODB_URL set (the stand-in would accept duplicates and never delete).
if (REAL_MONGODB_URL !== undefined) {
  describe('real MongoDB only', () => {
    it('index creation fails with a StorageError that says how to fix a conflicting index, and are retried by the next call', async () => {
      const name = uniqueName('conflict')
      const other = raw.db(database).collection(name)
      await other.createIndex({ e: 1 }, { name: 'memokit_ttl_v2', expireAfterSeconds: 3600 })
      const storage = mongoStorage({ url, database, collection: name })
      try {
        const error = await storage.set(rand(), 'k', 1).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(StorageError)
        expect(error).toMatchObject({
          op: 'set',
          message: expect.stringMatching(/creating the indexes .* createIndexes: false/),
        })
        await other.dropIndex('memokit_ttl_v2')
        await storage.set(rand(), 'k', 1)
        const indexes = await other.listIndexes().toArray()
        expect(indexes.find((i) => i.name === 'memokit_ttl_v2')).toMatchObject({ expireAfterSeconds: 0 })
      } finally {
        await storage.close()
        await other.drop()
      }
    })

    it('add is atomic: of many concurrent adds of one new key, exactly one wins', async () => {
      const prefix = `t-${rand()}`
      const storages = Array.from({ length: 8 }, () => open({ prefix }))
      const ns = rand()
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(
          storages.flatMap((s, i) => [s.add(ns, `k${round}`, i), s.add(ns, `k${round}`, -i)]),
        )
        expect(results.filter((r) => r === true)).toHaveLength(1)
        expect(await rawCollection.countDocuments({ p: prefix, ns, k: `k${round}` })).toBe(1)
      }
      for (const s of storages) await s.close()
    })

    it('add is atomic when replacing an expired document: exactly one of many concurrent adds wins', async () => {
      const prefix = `t-${rand()}`
      const storages = Array.from({ length: 8 }, () => open({ prefix }))
      const ns = rand()
      await storages[0]?.set(ns, 'k', 'old', { ttl: 20 })
      await sleep(40)
      const results = await Promise.all(storages.map((s, i) => s.add(ns, 'k', i)))
      expect(results.filter((r) => r === true)).toHaveLength(1)
      expect(await rawCollection.countDocuments({ p: prefix, ns, k: 'k' })).toBe(1)
      for (const s of storages) await s.close()
    })

    it('concurrent sets of one new key leave exactly one document', async () => {
      const prefix = `t-${rand()}`
      const storages = Array.from({ length: 8 }, () => open({ prefix }))
      const ns = rand()
      await Promise.all(storages.map((s, i) => s.set(ns, 'k', i)))
      expect(await rawCollection.countDocuments({ p: prefix, ns, k: 'k' })).toBe(1)
      for (const s of storages) await s.close()
    })

    it('the TTL monitor deletes expired documents (polls; the monitor runs about every 60 s)', async () => {
      const prefix = `t-${rand()}`
      const storage = open({ prefix })
      const ns = rand()
      await storage.set(ns, 'k', 1, { ttl: 1 })
      await storage.set(ns, 'stays', 1)
      const deadline = Date.now() + 75_000
      while ((await rawDoc(prefix, ns, 'k')) !== null && Date.now() < deadline) await sleep(500)
      expect(await rawDoc(prefix, ns, 'k')).toBeNull()
      expect(await rawDoc(prefix, ns, 'stays')).not.toBeNull()
      await storage.close()
    }, 80_000)
  })
}
