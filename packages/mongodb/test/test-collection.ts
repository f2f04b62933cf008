// A collection of a test file's own, on the stand-in (or the real server MONGODB_URL names), with a raw client to
// read and plant documents behind the storage's back: the setup the mongodb tests beyond the contract share.
import { afterAll, beforeAll } from '@jest/globals'
import type { MongoStorage } from '@memokit/mongodb'
import { type Collection, type Document, MongoClient } from 'mongodb'
import { portFromEnv, REAL_MONGODB_URL, type StandIn, startStandIn, uniqueName } from './server'

export interface TestCollection {
  /** The server's URL: the stand-in's, or MONGODB_URL. */
  readonly url: string
  readonly database: string
  /** This file's collection: a fresh name, so concurrent runs against one real server never share it. */
  readonly collection: string
  /** A client of the test's own, connected. */
  readonly raw: MongoClient
  /** The collection through `raw`. */
  readonly rawCollection: Collection<Document>
  /** Closes `storage` after the file's tests, before the server stops. */
  track<S extends MongoStorage>(storage: S): S
}

/**
 * Registers the file's beforeAll (starts a stand-in on the port in `portVariable`, `defaultPort` when unset,
 * unless MONGODB_URL is set; connects `raw`) and afterAll (closes the tracked storages, drops the collection on a
 * real server, stops the stand-in). `url`, `raw` and `rawCollection` are there once beforeAll ran.
 */
export function useTestCollection(label: string, portVariable: string, defaultPort: number): TestCollection {
  const database = 'memokit_test'
  const collection = uniqueName(label)
  const storages: MongoStorage[] = []
  let standIn: StandIn | undefined
  let url = ''
  let raw: MongoClient | undefined
  let rawCollection: Collection<Document> | undefined

  beforeAll(async () => {
    if (REAL_MONGODB_URL === undefined) {
      standIn = await startStandIn(portFromEnv(portVariable, defaultPort))
      url = standIn.url
    } else {
      url = REAL_MONGODB_URL
    }
    raw = new MongoClient(url, { serverSelectionTimeoutMS: 5000 })
    await raw.connect()
    rawCollection = raw.db(database).collection(collection)
  })

  afterAll(async () => {
    await Promise.all(storages.map((s) => s.close()))
    if (REAL_MONGODB_URL !== undefined) await rawCollection?.drop().catch(() => undefined)
    await raw?.close()
    await standIn?.stop()
  })

  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useTestCollection: used before its beforeAll ran')
    return value
  }
  return {
    get url() {
      return ready(url === '' ? undefined : url)
    },
    database,
    collection,
    get raw() {
      return ready(raw)
    },
    get rawCollection() {
      return ready(rawCollection)
    },
    track: (storage) => {
      storages.push(storage)
      return storage
    },
  }
}
