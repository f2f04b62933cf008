// Runs the MongoDB wire-protocol stand-in (CongoDB) as its own process: it ships ESM only, which jest's
// CommonJS runtime can't import, and a separate process lets tests freeze it (SIGSTOP) to act as a hung server.
// Usage: node congo-server.mjs <port>; prints "ready <port>" once it accepts connections; SIGTERM stops it.
import {
  CommandRouter,
  CongoServer,
  IndexEngine,
  QueryEngine,
  UpdateEngine,
} from '@push.rocks/smartmongo/dist_ts/congodb/index.js'
import { IndexHandler } from '@push.rocks/smartmongo/dist_ts/congodb/server/handlers/IndexHandler.js'

// Faithfulness patch: CongoDB ignores partialFilterExpression, so it builds (and checks the uniqueness of) a partial
// index over every document, and leaves the filter out of listIndexes. MongoDB indexes only the documents that
// match the filter, and lists it. Both are what the tests of memokit's partial indexes need to see.
const filters = new Map()
const filterKey = (db, collection, name) => JSON.stringify([db, collection, name])

const createIndex = IndexEngine.prototype.createIndex
IndexEngine.prototype.createIndex = async function (key, options) {
  const filter = options?.partialFilterExpression
  if (filter === undefined) return createIndex.call(this, key, options)
  const storage = this.storage
  const findAll = storage.findAll
  // Only while the index is built from the existing documents: the adapter is shared by every collection.
  storage.findAll = async (...args) =>
    (await findAll.apply(storage, args)).filter((d) => QueryEngine.matches(d, filter))
  try {
    const name = await createIndex.call(this, key, options)
    filters.set(filterKey(this.dbName, this.collName, name), filter)
    return name
  } finally {
    storage.findAll = findAll
  }
}

const handleListIndexes = IndexHandler.prototype.handleListIndexes
IndexHandler.prototype.handleListIndexes = async function (context) {
  const reply = await handleListIndexes.call(this, context)
  for (const index of reply.cursor?.firstBatch ?? []) {
    const filter = filters.get(filterKey(context.database, context.command.listIndexes, index.name))
    if (filter !== undefined) index.partialFilterExpression = filter
  }
  return reply
}

// Faithfulness patch: an update with operators ($set, $unset) deep-clones the document field by field, which turns
// every BSON Binary in it (the value of a Buffer entry) into a plain object of its fields. MongoDB keeps a field an
// update doesn't name as it was; lease updates ($set of the lease fields beside a byte value) need that.
const deepClone = UpdateEngine.deepClone
UpdateEngine.deepClone = function (value) {
  if (value instanceof Uint8Array || (typeof value === 'object' && value !== null && '_bsontype' in value)) {
    return value._bsontype === 'ObjectId' || value._bsontype === 'Timestamp' ? deepClone.call(this, value) : value
  }
  return deepClone.call(this, value)
}

// Faithfulness patch: CongoDB's handlers await between reading the documents and writing the result, so two
// commands from different connections interleave there: two conditional updates of one document can both match
// it (a lost update). MongoDB applies every single-document write atomically. Running one command at a time
// restores that (and more, which no test relies on).
const route = CommandRouter.prototype.route
let queue = Promise.resolve()
CommandRouter.prototype.route = function (parsed) {
  const turn = queue.then(() => route.call(this, parsed))
  queue = turn.then(
    () => undefined,
    () => undefined,
  )
  return turn
}

const port = Number(process.argv[2])
const server = new CongoServer({ port, host: '127.0.0.1' })
await server.start()
process.stdout.write(`ready ${port}\n`)
const stop = async () => {
  await server.stop()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// The parent's end of stdin closes when the test process dies: don't outlive it.
process.stdin.on('end', stop)
process.stdin.resume()
