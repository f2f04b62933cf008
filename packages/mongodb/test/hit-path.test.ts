// What a hit sends and reads: the command a `get` and a `getMany` put on the wire (seen through the driver's command
// monitoring), so that the query shape issue 14's measurements rest on doesn't drift unnoticed.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type MongoStorage, mongoStorage } from '@memokit/mongodb'
import { type Document, MongoClient } from 'mongodb'
import { portFromEnv, REAL_MONGODB_URL, type StandIn, startStandIn, uniqueName } from './server'

let standIn: StandIn | undefined
let client: MongoClient
const database = 'memokit_test'
const collection = uniqueName('hits')
const finds: Document[] = []
let storage: MongoStorage

beforeAll(async () => {
  let url: string
  if (REAL_MONGODB_URL === undefined) {
    standIn = await startStandIn(portFromEnv('MEMOKIT_MONGO_HIT_PORT', 27130))
    url = standIn.url
  } else {
    url = REAL_MONGODB_URL
  }
  client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, monitorCommands: true })
  client.on('commandStarted', (event) => {
    if (event.commandName === 'find') finds.push(event.command)
  })
  await client.connect()
  storage = mongoStorage({ client, database, collection, prefix: 'hits' })
})

afterAll(async () => {
  await storage?.close()
  if (REAL_MONGODB_URL !== undefined)
    await client
      ?.db(database)
      .collection(collection)
      .drop()
      .catch(() => undefined)
  await client?.close()
  await standIn?.stop()
})

describe('a mongodb hit', () => {
  it('is one find naming the key first, then namespace and prefix, for the entry fields only', async () => {
    await storage.set('ns', 'a', { x: 1 }, { ttl: 60_000, meta: { promise: true } })
    await storage.set('ns', 'b', 'other')
    finds.length = 0
    const entry = await storage.get('ns', 'a')
    expect(entry?.value).toEqual({ x: 1 })
    expect(entry?.meta).toEqual({ promise: true })
    expect(finds).toHaveLength(1)
    const [find] = finds
    // Order matters to a server that tests the fields one by one on each document it scans (the stand-in).
    expect(Object.keys(find?.filter ?? {})).toEqual(['k', 'ns', 'p'])
    expect(find?.filter).toEqual({ k: 'a', ns: 'ns', p: 'hits' })
    expect(find?.projection).toEqual({ _id: 0, v: 1, t: 1, m: 1, c: 1, e: 1 })
    expect(find?.limit).toBe(1)
  })

  it('of getMany is one find whose filter starts with the keys', async () => {
    finds.length = 0
    const entries = await storage.getMany?.('ns', ['b', 'a', 'missing'])
    expect(entries?.map((e) => e?.value)).toEqual(['other', { x: 1 }, undefined])
    expect(finds).toHaveLength(1)
    expect(Object.keys(finds[0]?.filter ?? {})[0]).toBe('k')
    expect(finds[0]?.filter).toEqual({ k: { $in: ['b', 'a', 'missing'] }, ns: 'ns', p: 'hits' })
  })
})
