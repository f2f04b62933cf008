// getMany on MongoDB: one find with $in for all keys, answers in the order asked, decoded as `get` decodes them
// (expired documents the TTL monitor hasn't removed are misses, a corrupt one rejects with get's CodecError).
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { CodecError } from '@memokit/core'
import { type MongoStorage, mongoStorage } from '@memokit/mongodb'
import type { MongoClientLike } from '../src/index'
import { COLD_TIMEOUT_MS } from './server'
import { useTestCollection } from './test-collection'

const mongo = useTestCollection('getmany', 'MEMOKIT_MONGO_GETMANY_PORT', 27127)
const { database, collection } = mongo

// The real client, counting the collection methods the storage calls (every call still goes to the server).
function counting(calls: string[]): MongoClientLike {
  return {
    db: (name) => {
      const db = mongo.raw.db(name)
      return {
        collection: (c) =>
          new Proxy(db.collection(c), {
            get(target, property, receiver) {
              const member = Reflect.get(target, property, receiver)
              if (typeof member !== 'function') return member
              return (...args: unknown[]) => {
                calls.push(String(property))
                return member.apply(target, args)
              }
            },
          }) as unknown as ReturnType<ReturnType<MongoClientLike['db']>['collection']>,
      }
    },
  }
}

const operationTimeoutMs = COLD_TIMEOUT_MS
const open = (prefix: string, client?: MongoClientLike): MongoStorage => {
  const storage =
    client === undefined
      ? mongoStorage({ url: mongo.url, database, collection, prefix, operationTimeoutMs })
      : mongoStorage({ client, database, collection, prefix, createIndexes: false, operationTimeoutMs })
  return mongo.track(storage)
}
const rand = (): string => randomBytes(6).toString('hex')

describe('mongodb getMany', () => {
  it('sends one find for all keys and answers as get does, in the order asked', async () => {
    const prefix = `gm-${rand()}`
    const storage = open(prefix)
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
    await Promise.all(keys.map((k, i) => (i % 4 === 3 ? undefined : storage.set('ns', k, { i, at: new Date(i) }))))
    await open(`${prefix}-other`).set('ns', 'k3', 'another prefix')
    await storage.set('ns2', 'k7', 'another namespace')
    // Past its expiry but still there, as on a server whose TTL monitor hasn't run yet.
    await mongo.rawCollection.updateOne({ p: prefix, ns: 'ns', k: 'k5' }, { $set: { e: new Date(Date.now() - 1000) } })
    const calls: string[] = []
    const counted = open(prefix, counting(calls))
    const asked = [...keys].reverse().concat(['k0', 'missing'])
    const found = await counted.getMany?.('ns', asked)
    expect(calls).toEqual(['find'])
    expect(found).toEqual(await Promise.all(asked.map((k) => storage.get('ns', k))))
    expect(found?.[asked.indexOf('k5')]).toBeUndefined()
    expect(found?.[asked.indexOf('k3')]).toBeUndefined()
    expect(found?.[asked.length - 2]?.value).toEqual({ i: 0, at: new Date(0) })
    expect(await counted.getMany?.('ns', [])).toEqual([])
    expect(calls).toEqual(['find'])
  })

  it('rejects with the CodecError get gives when one document among good ones is corrupt', async () => {
    const prefix = `gm-bad-${rand()}`
    const storage = open(prefix)
    await Promise.all(['a', 'b', 'c'].map((k) => storage.set('ns', k, k)))
    await mongo.rawCollection.updateOne({ p: prefix, ns: 'ns', k: 'b' }, { $set: { c: 'not a date' } })
    const fromGet = await storage.get('ns', 'b').catch((error: unknown) => error)
    expect(fromGet).toBeInstanceOf(CodecError)
    const fromMany = await storage.getMany?.('ns', ['a', 'b', 'c']).catch((error: unknown) => error)
    expect(fromMany).toBeInstanceOf(CodecError)
    expect((fromMany as Error).message).toBe((fromGet as Error).message)
    expect((await storage.getMany?.('ns', ['c', 'a']))?.map((e) => e?.value)).toEqual(['c', 'a'])
  })
})
