// Issue 8 for the MongoDB storage: a collection shared with other documents (partial indexes), upgrading from the
// earlier indexes and documents (no meta), meta on disk, unknown options, the scope, and invalidations that wait
// for writes the pool may still be sending.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { CodecError, ConfigError } from '@memokit/core'
import { mongoStorage } from '@memokit/mongodb'
import { type Collection, type Document, MongoClient } from 'mongodb'
import type { MongoClientLike, MongoCollectionLike } from '../src/index'
import { portFromEnv, REAL_MONGODB_URL, type StandIn, startStandIn, uniqueName } from './server'

let standIn: StandIn | undefined
let url = ''
let raw: MongoClient
const database = 'memokit_test'
const made: Collection<Document>[] = []

beforeAll(async () => {
  if (REAL_MONGODB_URL === undefined) {
    standIn = await startStandIn(portFromEnv('MEMOKIT_MONGO_PORT_SHARED', 27120))
    url = standIn.url
  } else {
    url = REAL_MONGODB_URL
  }
  raw = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
  await raw.connect()
})

afterAll(async () => {
  for (const col of made) await col.drop().catch(() => undefined)
  await raw?.close()
  await standIn?.stop()
})

/** A collection of its own for one test, dropped at the end. */
const freshCollection = (label: string): { name: string; col: Collection<Document> } => {
  const name = uniqueName(label)
  const col = raw.db(database).collection(name)
  made.push(col)
  return { name, col }
}

describe('a collection that also holds other documents', () => {
  it('takes memokit’s indexes and entries, and leaves the other documents alone', async () => {
    const { name, col } = freshCollection('shared')
    // Written first, as by the application that owns the collection: none has memokit's fields, several have an
    // `e` date in the past (a non-partial TTL index on e would delete them).
    const foreign = [
      { kind: 'order', total: 12 },
      { kind: 'order', total: 7 },
      { kind: 'session', e: new Date(Date.now() - 3_600_000) },
      { kind: 'note', p: 'only a p field' },
    ]
    await col.insertMany(foreign.map((doc) => ({ ...doc })))
    const storage = mongoStorage({ url, database, collection: name, prefix: 'app' })
    try {
      await storage.set('ns', 'k', { cached: true }, { ttl: 60_000 })
      expect((await storage.get('ns', 'k'))?.value).toEqual({ cached: true })
      expect(await storage.add('ns', 'other', 1)).toBe(true)
      expect(await storage.delete('ns', 'other')).toBe(true)
      await storage.clear('ns')
      expect(await storage.get('ns', 'k')).toBeUndefined()
      // The application keeps writing documents without memokit's fields.
      await col.insertMany([{ kind: 'order', total: 3 }, { kind: 'order' }])
      expect(await col.countDocuments({ kind: { $exists: true } })).toBe(foreign.length + 2)
    } finally {
      await storage.close()
    }
  })
})

describe('a collection written by an earlier memokit', () => {
  it('keeps working next to the old non-partial indexes, and reads old documents (no meta field)', async () => {
    const { name, col } = freshCollection('upgrade')
    await col.createIndexes([
      { key: { p: 1, ns: 1, k: 1 }, name: 'memokit_key', unique: true },
      { key: { e: 1 }, name: 'memokit_ttl', expireAfterSeconds: 0 },
    ])
    // Exactly the fields the earlier version wrote: no `m`.
    await col.insertOne({ p: 'app', ns: 'ns', k: 'old', v: 'j"before";', c: new Date(1_700_000_000_000) })
    const storage = mongoStorage({ url, database, collection: name, prefix: 'app' })
    try {
      const entry = await storage.get('ns', 'old')
      expect(entry).toEqual({ value: 'before', createdAt: 1_700_000_000_000, expiresAt: undefined })
      expect(entry && 'meta' in entry).toBe(false)
      await storage.set('ns', 'new', 'after', { meta: { promise: true } })
      expect((await storage.get('ns', 'new'))?.meta).toEqual({ promise: true })
      const names = (await col.listIndexes().toArray()).map((index) => index.name).sort()
      expect(names).toEqual(['_id_', 'memokit_key', 'memokit_key_v2', 'memokit_ttl', 'memokit_ttl_v2'])
    } finally {
      await storage.close()
    }
  })
})

describe('meta on disk', () => {
  it('is the JSON text of the meta in field m, absent without meta; a corrupt one is a CodecError', async () => {
    const { name, col } = freshCollection('meta')
    const storage = mongoStorage({ url, database, collection: name, prefix: 'app' })
    try {
      const meta = { promise: true, 'dotted.key': 1, $dollar: ['x'] }
      await storage.set('ns', 'with', 1, { meta })
      await storage.set('ns', 'without', 1)
      expect((await col.findOne({ k: 'with' }))?.m).toBe(JSON.stringify(meta))
      expect(Object.keys((await col.findOne({ k: 'without' })) ?? {})).not.toContain('m')
      for (const m of ['{not json', '[1]', 'null', 42]) {
        await col.updateOne({ k: 'with' }, { $set: { m } })
        await expect(storage.get('ns', 'with')).rejects.toBeInstanceOf(CodecError)
      }
    } finally {
      await storage.close()
    }
  })
})

describe('options', () => {
  it.each<[string, unknown, RegExp]>([
    ['ttl', { url: 'mongodb://127.0.0.1:1', ttl: 1000 }, /unknown option 'ttl'; valid options are url, client/],
    ['colection', { url: 'mongodb://127.0.0.1:1', colection: 'c' }, /did you mean 'collection'/],
    ['timeout', { url: 'mongodb://127.0.0.1:1', timeout: 5 }, /did you mean 'operationTimeoutMs'/],
    [
      'options',
      'mongodb://app:hunter2@127.0.0.1:1',
      /pass \{ url \}: mongoStorage\(\{ url: 'mongodb:\/\/127\.0\.0\.1:1' \}\)/,
    ],
  ])('rejects %s with a ConfigError before connecting', (option, options, message) => {
    const connect = jest.spyOn(MongoClient.prototype, 'connect')
    try {
      let error: unknown
      try {
        mongoStorage(options as never)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect(error).toMatchObject({ option, message: expect.stringMatching(message) })
      expect((error as Error).message).not.toContain('hunter2')
      expect(connect).not.toHaveBeenCalled()
    } finally {
      connect.mockRestore()
    }
  })
})

describe('scope', () => {
  it('names server, database, collection and prefix, never credentials', () => {
    const scope = (options: object) => mongoStorage({ prefix: 'memokit/@acme/shop', ...options } as never).scope
    expect(scope({ url: 'mongodb://app:hunter2@DB.example.net:27017/admin?authSource=admin' })).toBe(
      'mongodb://db.example.net:27017/memokit.cache?prefix=memokit%2F%40acme%2Fshop',
    )
    // Hosts in any order are one replica set; the collection name is encoded, so it can't run into the prefix.
    expect(scope({ url: 'mongodb://b:2,a:1/?replicaSet=rs', database: 'app', collection: 'memo ?x' })).toBe(
      'mongodb://a:1,b:2/app.memo%20%3Fx?prefix=memokit%2F%40acme%2Fshop',
    )
    expect(scope({ url: 'mongodb+srv://u:p@Cluster0.example.net/' })).toMatch(
      /^mongodb\+srv:\/\/cluster0\.example\.net\//,
    )
    expect(scope({ client: new MongoClient('mongodb://u:p@h:1') })).toBe(scope({ url: 'mongodb://h:1' }))
    // A structural client that hides its server is its own place: the same object, the same scope.
    const wrapper: MongoClientLike = { db: () => ({ collection: () => ({}) as MongoCollectionLike }) }
    expect(scope({ client: wrapper })).toMatch(/^mongodb:\/\/client-\d+\/memokit\.cache\?/)
    expect(scope({ client: wrapper })).toBe(scope({ client: wrapper }))
    expect(scope({ client: { ...wrapper } })).not.toBe(scope({ client: wrapper }))
  })
})

describe('an invalidation issued while a write is still being sent', () => {
  /**
   * The real client, with every write (updateOne, replaceOne) sent `ms` late (a slow pool connection), or only those
   * whose arguments mention `marker`: the only fault added.
   */
  const slowWrites = (real: MongoClient, ms: number, marker?: string): MongoClientLike => ({
    db: (name) => ({
      collection: (c) => {
        const col = real.db(name).collection(c)
        return new Proxy(col, {
          get(target, property, receiver) {
            const member = Reflect.get(target, property, receiver)
            if ((property !== 'updateOne' && property !== 'replaceOne') || typeof member !== 'function') return member
            return async (...args: unknown[]) => {
              if (marker === undefined || JSON.stringify(args).includes(marker)) {
                await new Promise((resolve) => setTimeout(resolve, ms))
              }
              return member.apply(target, args)
            }
          },
        }) as unknown as MongoCollectionLike
      },
    }),
  })

  it('a set issued while an earlier set of the key is on its way lands after it', async () => {
    const { name } = freshCollection('order-sets')
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
    const storage = mongoStorage({
      client: slowWrites(client, 300, 'stale'),
      database,
      collection: name,
      prefix: 'app',
    })
    try {
      const first = storage.set('ns', 'k', 'stale')
      await storage.set('ns', 'k', 'fresh')
      await first
      expect((await storage.get('ns', 'k'))?.value).toBe('fresh')
    } finally {
      await storage.close()
      await client.close()
    }
  })

  it('a set that timed out does not land after the newer set issued next (a refresh after a slow write)', async () => {
    const { name } = freshCollection('order-timeout')
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
    const slow = slowWrites(client, 1500, 'stale')
    const storage = mongoStorage({ client: slow, database, collection: name, prefix: 'app', operationTimeoutMs: 1000 })
    try {
      await expect(storage.set('ns', 'k', 'stale')).rejects.toThrow('timed out')
      // Sent once the stale write has been answered (1500 ms), within its own 1000 ms.
      await storage.set('ns', 'k', 'fresh')
      await new Promise((resolve) => setTimeout(resolve, 600))
      expect((await storage.get('ns', 'k'))?.value).toBe('fresh')
    } finally {
      await storage.close()
      await client.close()
    }
  })

  it('waits for it: after delete or clear resolves, the earlier set never lands', async () => {
    const { name } = freshCollection('order')
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
    const storage = mongoStorage({ client: slowWrites(client, 50), database, collection: name, prefix: 'app' })
    try {
      const write = storage.set('ns', 'k', 'stale')
      expect(await storage.delete('ns', 'k')).toBe(true)
      expect(await storage.get('ns', 'k')).toBeUndefined()
      await write
      expect(await storage.get('ns', 'k')).toBeUndefined()
      const writes = [storage.set('ns', 'fn:1', 1), storage.set('ns', 'fx:1', 1)]
      await storage.clear('ns', 'fn:')
      await Promise.all(writes)
      expect(await storage.get('ns', 'fn:1')).toBeUndefined()
      expect((await storage.get('ns', 'fx:1'))?.value).toBe(1)
    } finally {
      await storage.close()
      await client.close()
    }
  })
})
