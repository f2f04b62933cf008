// Core's lease flow over MongoDB (the storage-test-suite's lease flow checks): replicas in one process, each with its
// own client (and so its own connection pool).
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, it } from '@jest/globals'
import type { AsyncStorage } from '@memokit/core'
import { type MongoStorage, mongoStorage } from '@memokit/mongodb'
import { runLeaseFlowChecks } from '@memokit/storage-test-suite'
import { MongoClient } from 'mongodb'
import { COLD_TIMEOUT_MS, portFromEnv, REAL_MONGODB_URL, type StandIn, startStandIn, uniqueName } from './server'

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

/** `count` replicas on one prefix, each with its own client; each view hides `scope` (one place per replica). */
function replicas(count: number): AsyncStorage[] {
  const prefix = `flight-${randomBytes(5).toString('hex')}`
  return Array.from({ length: count }, () => {
    const storage = mongoStorage({ url, database, collection, prefix, operationTimeoutMs: COLD_TIMEOUT_MS })
    storages.push(storage)
    const { scope: _scope, ...view } = storage
    return view
  })
}

runLeaseFlowChecks({ describe, it }, { name: 'mongodb', replicas })
