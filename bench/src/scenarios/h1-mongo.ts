// H1's MongoDB pair: memokit's mongoStorage over its own MongoClient against `findOne` + JSON.parse of an equal
// document on another MongoClient, on a real server (MONGODB_URL) or the wire-protocol stand-in started here.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { fetchValue, HOT, TTL_MS, type Value, valueFor } from '../redis-common'
import type { CacheValue, Pair } from './h1'
import { tallied } from './h1'

// The bench has no dependency of its own on the driver or the stand-in: both come from packages/mongodb.
const PACKAGE = fileURLToPath(new URL('../../../packages/mongodb/', import.meta.url))
const STAND_IN_PORT = Number(process.env.H1_MONGO_PORT ?? 7150)

type Doc = Record<string, unknown>
interface Collection {
  findOne(filter: Doc, options: { projection: Doc }): Promise<Doc | null>
  insertMany(docs: Doc[]): Promise<unknown>
  createIndex(key: Doc): Promise<unknown>
  drop(): Promise<unknown>
}
interface Client {
  connect(): Promise<unknown>
  close(): Promise<unknown>
  db(name: string): { collection(name: string): Collection }
}

/** Starts the stand-in (packages/mongodb/test/congo-server.mjs) and resolves once it accepts connections. */
function startStandIn(port: number): Promise<{ url: string; stop(): void }> {
  const child: ChildProcess = spawn(process.execPath, [`${PACKAGE}test/congo-server.mjs`, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk)
  })
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid as number, 'SIGTERM')
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop()
      reject(new Error(`the MongoDB stand-in on port ${port} was not ready after 10 s: ${stderr}`))
    }, 10_000)
    child.stdout?.on('data', (chunk) => {
      if (!String(chunk).includes('ready')) return
      clearTimeout(timer)
      resolve({ url: `mongodb://127.0.0.1:${port}/?directConnection=true&serverMonitoringMode=poll`, stop })
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the MongoDB stand-in exited with ${code}: ${stderr.slice(0, 300)}`))
    })
  })
}

export async function mongoPair(cacheValue: CacheValue): Promise<Pair | string> {
  const require = createRequire(`${PACKAGE}package.json`)
  const { MongoClient } = require('mongodb') as { MongoClient: new (url: string) => Client }
  const { mongoStorage } = await import('@memokit/mongodb')
  const real = process.env.MONGODB_URL || undefined
  const server = real === undefined ? await startStandIn(STAND_IN_PORT) : { url: real, stop: () => {} }
  const database = 'mkbench'
  const collection = `h1_${process.pid}_${randomBytes(4).toString('hex')}`
  const rawClient = new MongoClient(server.url)
  const mkClient = new MongoClient(server.url)
  const close = async (): Promise<void> => {
    await rawClient
      .db(database)
      .collection(`${collection}_raw`)
      .drop()
      .catch(() => undefined)
    await rawClient
      .db(database)
      .collection(collection)
      .drop()
      .catch(() => undefined)
    await Promise.all([rawClient.close(), mkClient.close()]).catch(() => undefined)
    server.stop()
  }
  try {
    await Promise.all([rawClient.connect(), mkClient.connect()])
    // The raw side's documents: the key and the value's JSON, indexed by key as memokit's are.
    const rawCol = rawClient.db(database).collection(`${collection}_raw`)
    await rawCol.createIndex({ k: 1 })
    await rawCol.insertMany(Array.from({ length: HOT }, (_, k) => ({ k: `user:${k}`, v: JSON.stringify(valueFor(k)) })))
    // The stand-in answers in tens of ms on a loaded machine (it is a JS server): 5 s keeps a slow fill from timing
    // out. A real server gets the default.
    const operationTimeoutMs = real === undefined ? 5000 : undefined
    const storage = mongoStorage({
      client: mkClient as never,
      database,
      collection,
      prefix: 'mkbench',
      ...(operationTimeoutMs === undefined ? {} : { operationTimeoutMs }),
    })
    const { tally, load, onError } = tallied(fetchValue)
    const memokit = cacheValue(load, { storage, name: 'bench.h1', ttl: TTL_MS, onError }) as (
      k: number,
    ) => Promise<Value>
    const projection = { _id: 0, v: 1 }
    return {
      label: 'MongoDB',
      lines: [
        `MongoDB: ${real === undefined ? `the wire-protocol stand-in (CongoDB) on port ${STAND_IN_PORT}` : 'MONGODB_URL'}, database ${database}, collection ${collection} (dropped at the end)`,
      ],
      raw: {
        name: 'findOne + JSON.parse',
        note: 'raw: { k, v: JSON } documents, index on k, own MongoClient',
        call: async (k) => {
          const doc = await rawCol.findOne({ k: `user:${k}` }, { projection })
          return doc === null ? undefined : JSON.parse(doc.v as string)
        },
      },
      memokit: [
        {
          name: 'memokit',
          note: `cacheValue + mongoStorage (own MongoClient${operationTimeoutMs === undefined ? '' : ', operationTimeoutMs 5000'})`,
          call: memokit,
        },
      ],
      tally,
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}
