// Core's lease flow over MongoDB: replicas in one process, each with its own client (and so its own connection
// pool), as core's lease tests simulate them (a view of the storage without `scope`, so core treats each as its own
// place). singleFlight: 'distributed' computes once across them; a delete on one replica while another computes
// keeps the overtaken result out of the collection.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type AsyncStorage, cacheValue } from '@memokit/core'
import { type MongoStorage, mongoStorage } from '@memokit/mongodb'
import { MongoClient } from 'mongodb'
import { portFromEnv, REAL_MONGODB_URL, type StandIn, startStandIn, uniqueName } from './server'

let standIn: StandIn | undefined
let url = ''
const database = 'memokit_test'
const collection = uniqueName('flight')
const storages: MongoStorage[] = []

beforeAll(async () => {
  if (REAL_MONGODB_URL === undefined) {
    standIn = await startStandIn(portFromEnv('MEMOKIT_MONGO_FLIGHT_PORT', 27129))
    url = standIn.url
  } else {
    url = REAL_MONGODB_URL
  }
})

afterAll(async () => {
  await Promise.all(storages.map((s) => s.close()))
  if (REAL_MONGODB_URL !== undefined) {
    const raw = new MongoClient(REAL_MONGODB_URL)
    await raw
      .db(database)
      .collection(collection)
      .drop()
      .catch(() => undefined)
    await raw.close()
  }
  await standIn?.stop()
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `count` replicas on one prefix, each with its own client; each view hides `scope` (one place per replica). */
function replicas(count: number): AsyncStorage[] {
  const prefix = `flight-${randomBytes(5).toString('hex')}`
  return Array.from({ length: count }, () => {
    const storage = mongoStorage({ url, database, collection, prefix })
    storages.push(storage)
    const { scope: _scope, ...view } = storage
    return view
  })
}

describe("mongodb with singleFlight: 'distributed'", () => {
  it('runs fn once for 3 replicas x 20 concurrent callers; every caller gets its value', async () => {
    let runs = 0
    const fn = async (id: number) => {
      runs++
      await sleep(200)
      return { id, run: runs }
    }
    const wrappers = replicas(3).map((storage) =>
      cacheValue(fn, { storage, namespace: 'flight', name: 'load', ttl: '1m', singleFlight: 'distributed' }),
    )
    const results = await Promise.all(wrappers.flatMap((cached) => Array.from({ length: 20 }, () => cached(7))))
    expect(runs).toBe(1)
    expect(new Set(results.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ id: 7, run: 1 })]))
  }, 20_000)

  it('a delete on replica B while A computes keeps A’s result out: the next read computes again', async () => {
    let runs = 0
    const fn = async (id: number) => {
      runs++
      await sleep(150)
      return { id, run: runs }
    }
    const pair = replicas(2).map((storage) =>
      cacheValue(fn, { storage, namespace: 'flight', name: 'fenced', ttl: '1m', singleFlight: 'distributed' }),
    )
    const [a, b] = pair as [(typeof pair)[number], (typeof pair)[number]]
    const computing = a(5)
    await sleep(50)
    await b.delete(5)
    expect(await computing).toEqual({ id: 5, run: 1 })
    expect(await b(5)).toEqual({ id: 5, run: 2 })
    expect(await a(5)).toEqual({ id: 5, run: 2 })
    expect(runs).toBe(2)
  }, 20_000)
})
