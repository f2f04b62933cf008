// Adversarial probes of the MongoDB storage that found nothing wrong, kept because no other test covers them:
// documents of a foreign shape stored under an entry's { p, ns, k } (fields of the wrong BSON type, lease fields
// that are not a lease) never read as a value or a held lease, and the next write of the key repairs them.
import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from '@jest/globals'
import { CodecError } from '@memokit/core'
import { type MongoStorage, mongoStorage } from '@memokit/mongodb'
import type { Document } from 'mongodb'
import { COLD_TIMEOUT_MS } from './server'
import { useTestCollection } from './test-collection'

const mongo = useTestCollection('adversarial', 'MEMOKIT_MONGO_ADV_PORT', 21560)
let storage: MongoStorage
const prefix = `adv-${randomBytes(4).toString('hex')}`

beforeAll(async () => {
  const { url, database, collection } = mongo
  storage = mongo.track(mongoStorage({ url, database, collection, prefix, operationTimeoutMs: COLD_TIMEOUT_MS }))
  await storage.get('ns', 'warm')
})

const later = () => new Date(Date.now() + 60_000)
// Each is the whole document under { p, ns, k } besides those three fields.
const foreign: Record<string, Document> = {
  'v an object (a $-keyed subdocument)': { v: { $oid: 'x', 'a.b': 1 }, c: new Date() },
  'c a string': { v: 'x', c: '2026-01-01' },
  'c null': { v: 'x', c: null },
  'e epoch ms, not a Date': { v: 'x', c: new Date(), e: Date.now() + 60_000 },
  'an unknown byte type': { v: 'x', t: 'z', c: new Date() },
  'm not JSON': { v: 'x', c: new Date(), m: '{not json' },
}

describe('a foreign document under an entry', () => {
  for (const [what, fields] of Object.entries(foreign)) {
    it(`${what}: get never returns a value from it, set repairs it`, async () => {
      const k = `k-${randomBytes(4).toString('hex')}`
      await mongo.rawCollection.insertOne({ p: prefix, ns: 'ns', k, ...fields })
      const read = await storage.get('ns', k).then(
        (entry) => entry,
        (error: unknown) => error,
      )
      if (read !== undefined) expect(read).toBeInstanceOf(CodecError)
      expect(await storage.getMany?.('ns', [k]).catch((error: unknown) => [error])).toEqual([read])
      await storage.set('ns', k, { fine: true }, { ttl: 60_000 })
      expect((await storage.get('ns', k))?.value).toEqual({ fine: true })
    })
  }

  it('lease fields of the wrong type are no held lease: another caller takes the lease, and its fenced write lands', async () => {
    const k = `k-${randomBytes(4).toString('hex')}`
    await mongo.rawCollection.insertOne({
      p: prefix,
      ns: 'ns',
      k,
      l: 'x'.repeat(20),
      le: later().toISOString(),
      e: later(),
    })
    expect(await storage.get('ns', k)).toBeUndefined()
    const token = randomBytes(16).toString('hex')
    expect(await storage.acquireLease('ns', k, token, 10_000)).toBe(true)
    expect(await storage.setIfLeased('ns', k, 'written', token)).toBe(true)
    expect((await storage.get('ns', k))?.value).toBe('written')
  })

  it('a live lease of another token is never taken for this caller: its fenced write and release answer false', async () => {
    const k = `k-${randomBytes(4).toString('hex')}`
    await mongo.rawCollection.insertOne({ p: prefix, ns: 'ns', k, l: 'y'.repeat(20), le: later(), e: later() })
    const token = randomBytes(16).toString('hex')
    expect(await storage.acquireLease('ns', k, token, 10_000)).toBe(false)
    expect(await storage.setIfLeased('ns', k, 'written', token)).toBe(false)
    expect(await storage.releaseLease('ns', k, token)).toBe(false)
    expect(await storage.extendLease('ns', k, token, 10_000)).toBe(false)
    expect(await storage.get('ns', k)).toBeUndefined()
    // An invalidation removes it with the key.
    await storage.delete('ns', k)
    expect(await storage.acquireLease('ns', k, token, 10_000)).toBe(true)
  })
})
