// Leases on MongoDB beyond the contract suite: the document layout (a lease alone expires through the TTL field
// `e`), writes that keep a held lease, BSON Binary entries under a lease, racing clients, argument checks.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { ConfigError, StorageError } from '@memokit/core'
import { type MongoStorage, mongoStorage } from '@memokit/mongodb'
import { COLD_TIMEOUT_MS } from './server'
import { useTestCollection } from './test-collection'

const mongo = useTestCollection('leases', 'MEMOKIT_MONGO_LEASES_PORT', 27128)
const { database, collection } = mongo

const rand = (): string => randomBytes(6).toString('hex')
const token = (): string => randomBytes(16).toString('hex')
const HOLD = 60_000

/** A storage with its own MongoClient (as another replica would have), on this file's collection. */
const open = (prefix: string): MongoStorage => {
  const storage = mongoStorage({ url: mongo.url, database, collection, prefix, operationTimeoutMs: COLD_TIMEOUT_MS })
  return mongo.track(storage)
}
const doc = (prefix: string, ns: string, k: string) =>
  mongo.rawCollection.findOne({ p: prefix, ns, k }, { projection: { _id: 0 } })

describe('mongodb lease documents', () => {
  it('a lease alone is a document without an entry whose e is the lease expiry; extend moves both, release removes it', async () => {
    const prefix = `l-${rand()}`
    const storage = open(prefix)
    const t = token()
    const before = Date.now()
    expect(await storage.acquireLease('ns', 'k', t, 5_000)).toBe(true)
    const taken = await doc(prefix, 'ns', 'k')
    expect(Object.keys(taken ?? {}).sort()).toEqual(['e', 'k', 'l', 'le', 'ns', 'p'])
    expect(taken?.l).toBe(t)
    expect(taken?.e).toEqual(taken?.le)
    expect((taken?.le as Date | undefined)?.getTime()).toBeGreaterThanOrEqual(before + 5_000)
    expect(await storage.extendLease('ns', 'k', t, 50_000)).toBe(true)
    const extended = await doc(prefix, 'ns', 'k')
    expect((extended?.le as Date | undefined)?.getTime()).toBeGreaterThanOrEqual(before + 50_000)
    expect(extended?.e).toEqual(extended?.le)
    expect(await storage.releaseLease('ns', 'k', t)).toBe(true)
    expect(await doc(prefix, 'ns', 'k')).toBeNull()
  })

  it('a lease over an expired entry turns the document into a lease alone: the old value never comes back', async () => {
    const prefix = `l-${rand()}`
    const storage = open(prefix)
    await storage.set('ns', 'k', 'old', { ttl: 60_000, meta: { promise: true } })
    // Past its expiry but still there, as on a server whose TTL monitor hasn't run yet.
    await mongo.rawCollection.updateOne({ p: prefix, ns: 'ns', k: 'k' }, { $set: { e: new Date(Date.now() - 1000) } })
    const t = token()
    expect(await storage.acquireLease('ns', 'k', t, HOLD)).toBe(true)
    const leased = await doc(prefix, 'ns', 'k')
    expect(leased).not.toHaveProperty('v')
    expect(leased).not.toHaveProperty('m')
    expect(leased).not.toHaveProperty('c')
    expect(leased?.e).toEqual(leased?.le)
    expect(await storage.get('ns', 'k')).toBeUndefined()
    expect(await storage.getMany?.('ns', ['k'])).toEqual([undefined])
    expect(await storage.setIfLeased('ns', 'k', 'new', t)).toBe(true)
    expect(await doc(prefix, 'ns', 'k')).not.toHaveProperty('l')
    expect((await storage.get('ns', 'k'))?.value).toBe('new')
  })

  it('set and add keep a held lease (a write is no invalidation); the holder still writes', async () => {
    const prefix = `l-${rand()}`
    const storage = open(prefix)
    const other = open(prefix)
    for (const write of ['set', 'add'] as const) {
      const k = `k-${write}`
      const t = token()
      expect(await storage.acquireLease('ns', k, t, HOLD)).toBe(true)
      if (write === 'set') await other.set('ns', k, 'plain', { ttl: HOLD })
      else expect(await other.add('ns', k, 'plain', { ttl: HOLD })).toBe(true)
      expect((await storage.get('ns', k))?.value).toBe('plain')
      expect(await other.acquireLease('ns', k, token(), HOLD)).toBe(false)
      expect(await storage.setIfLeased('ns', k, 'fenced', t)).toBe(true)
      const entry = await storage.get('ns', k)
      expect(entry?.value).toBe('fenced')
      // The fenced write replaced the plain write's expiry: it had no ttl.
      expect(entry?.expiresAt).toBeUndefined()
    }
  })

  it('keeps a byte value intact while a lease comes and goes over it', async () => {
    const prefix = `l-${rand()}`
    const storage = open(prefix)
    const bytes = Buffer.from([0, 1, 2, 250, 255])
    await storage.set('ns', 'buf', bytes)
    const t = token()
    expect(await storage.acquireLease('ns', 'buf', t, HOLD)).toBe(true)
    expect(await storage.extendLease('ns', 'buf', t, HOLD)).toBe(true)
    expect((await storage.get('ns', 'buf'))?.value).toEqual(bytes)
    expect(await storage.releaseLease('ns', 'buf', t)).toBe(true)
    const read = (await storage.get('ns', 'buf'))?.value
    expect(Buffer.isBuffer(read)).toBe(true)
    expect(read).toEqual(bytes)
    expect((await doc(prefix, 'ns', 'buf'))?.v?._bsontype).toBe('Binary')
  })
})

describe('mongodb leases across clients', () => {
  it('of 30 acquires from three clients at once, exactly one wins, also over an expired lease and an entry', async () => {
    const prefix = `race-${rand()}`
    const clients = [open(prefix), open(prefix), open(prefix)]
    for (const [round, setup] of ['none', 'expired lease', 'entry'].entries()) {
      const k = `k${round}`
      if (setup === 'expired lease') {
        expect(await clients[0]?.acquireLease('ns', k, token(), 50)).toBe(true)
        await new Promise((resolve) => setTimeout(resolve, 80))
      }
      if (setup === 'entry') await clients[0]?.set('ns', k, 'entry')
      const tokens = Array.from({ length: 30 }, () => token())
      const won = await Promise.all(
        tokens.map((t, i) => (clients[i % 3] as MongoStorage).acquireLease('ns', k, t, HOLD)),
      )
      expect(won.filter(Boolean)).toHaveLength(1)
      const holder = tokens[won.indexOf(true)] as string
      expect(await clients[1]?.setIfLeased('ns', k, `by ${holder}`, holder)).toBe(true)
      expect((await clients[2]?.get('ns', k))?.value).toBe(`by ${holder}`)
    }
  })

  it('a delete from another client fences the holder: once the delete resolves, the holder’s write never shows', async () => {
    const prefix = `fence-${rand()}`
    const holderSide = open(prefix)
    const invalidator = open(prefix)
    for (let round = 0; round < 20; round++) {
      const k = `k${round}`
      const t = token()
      expect(await holderSide.acquireLease('ns', k, t, HOLD)).toBe(true)
      // Both at once: the write lands before the delete (which then removes it) or is refused after it.
      await Promise.all([holderSide.setIfLeased('ns', k, 'computed', t), invalidator.delete('ns', k)])
      expect(await invalidator.get('ns', k)).toBeUndefined()
      expect(await holderSide.get('ns', k)).toBeUndefined()
      expect(await holderSide.releaseLease('ns', k, t)).toBe(false)
    }
  })
})

describe('mongodb lease arguments and failures', () => {
  it('rejects a token outside 16-64 characters and a ttl that is not a positive finite number with ConfigError', async () => {
    const prefix = `args-${rand()}`
    const storage = open(prefix)
    for (const bad of ['short', 'x'.repeat(65), 'a\ud800bcdefghijklmnop', 42, undefined]) {
      await expect(storage.acquireLease('ns', 'k', bad as string, HOLD)).rejects.toBeInstanceOf(ConfigError)
      await expect(storage.releaseLease('ns', 'k', bad as string)).rejects.toBeInstanceOf(ConfigError)
      await expect(storage.setIfLeased('ns', 'k', 1, bad as string)).rejects.toBeInstanceOf(ConfigError)
    }
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100', undefined]) {
      await expect(storage.acquireLease('ns', 'k', token(), bad as number)).rejects.toMatchObject({
        name: 'ConfigError',
        option: 'ttl',
      })
      await expect(storage.extendLease('ns', 'k', token(), bad as number)).rejects.toBeInstanceOf(ConfigError)
    }
    // Refused before anything was sent.
    expect(await mongo.rawCollection.countDocuments({ p: prefix })).toBe(0)
  })

  it('fails with a StorageError naming the lease operation on a closed storage', async () => {
    const storage = mongoStorage({ url: mongo.url, database, collection, prefix: `closed-${rand()}` })
    await storage.close()
    const t = token()
    const calls: Array<[string, Promise<unknown>]> = [
      ['acquireLease', storage.acquireLease('ns', 'k', t, HOLD)],
      ['releaseLease', storage.releaseLease('ns', 'k', t)],
      ['extendLease', storage.extendLease('ns', 'k', t, HOLD)],
      ['setIfLeased', storage.setIfLeased('ns', 'k', 1, t)],
    ]
    for (const [op, call] of calls) {
      const error = await call.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StorageError)
      expect(error).toMatchObject({ op })
    }
  })
})
