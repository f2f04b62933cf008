import { type AsyncStorage, type SetOptions, StorageError, type StorageOp } from '@memokit/core'
import { createWriteTracker, describeValue, hasLoneSurrogate, storageFailure } from '@memokit/core/backend'
import {
  codeOf,
  decodeDocument,
  EXPIRY_PROJECTION,
  escapeRegex,
  fieldsOf,
  isLive,
  type MongoCollectionLike,
  type MongoDocument,
  VALUE_PROJECTION,
} from './documents'
import { findMany, inOrder } from './get-many'
import { ensureIndexes } from './indexes'
import { type MongoStorageOptions, resolveOptions } from './options'

/** The storage {@link mongoStorage} returns: an `AsyncStorage` whose `add`, `close` and `scope` are always present. */
export interface MongoStorage extends AsyncStorage {
  /**
   * Where the storage writes, without credentials: `mongodb://<host:port,…>/<database>.<collection>?prefix=<prefix>`
   * (`mongodb+srv://<host>/…` for an SRV URL). Storages with the same scope share entries.
   */
  readonly scope: string
  /** Atomic set-if-absent (an expired leftover counts as absent); resolves to `true` if this call wrote it. */
  add(namespace: string, key: string, value: unknown, options?: SetOptions): Promise<boolean>
  /** Closes the client built from `url`; a client you passed stays open. Later calls reject with StorageError. */
  close(): Promise<void>
}

const NAME = 'mongodb'
const DUPLICATE_KEY = 11000

/** How an operation is ordered against the writes of the same storage object. */
interface Order {
  /** Settles once the writes this invalidation must follow have settled. */
  readonly after?: Promise<void> | undefined
  /** Namespace and key of a write, tracked until the server has answered it (or the driver gave up). */
  readonly write?: readonly [string, string]
}

/**
 * A MongoDB storage (official driver). One document per entry, `{ p: prefix, ns: namespace, k: key, v: value,
 * t?: byte type, m?: meta JSON, c: created Date, e?: expiry Date }`, with a unique index on `{ p, ns, k }` and a
 * TTL index on `e`, both partial (memokit's documents only). Connects lazily; every operation is bounded by
 * `operationTimeoutMs`; failures reject with `StorageError`. `delete` and `clear` wait for the writes this storage
 * object has already sent of what they remove: the driver's pool may otherwise run them first.
 *
 * @example
 * const storage = mongoStorage({ url: 'mongodb://127.0.0.1:27017' })
 * const storage2 = mongoStorage({ client: myMongoClient, database: 'app', collection: 'memo' })
 */
export function mongoStorage(options: MongoStorageOptions): MongoStorage {
  const resolved = resolveOptions(options)
  const { client, ownClient, database, collection, prefix, codec, operationTimeoutMs, where } = resolved
  const writes = createWriteTracker()
  let closed = false
  let ready: Promise<MongoCollectionLike> | undefined
  // The collection once init succeeded: operations then go to it directly, without waiting on `ready` first (one
  // promise and microtask hop less per hit).
  let opened: MongoCollectionLike | undefined

  const init = async (): Promise<MongoCollectionLike> => {
    if (ownClient) await ownClient.connect()
    const col = client.db(database).collection(collection)
    // Once per storage: creating indexes that already exist with the same options is a no-op on the server.
    if (resolved.createIndexes) await ensureIndexes(col, database, collection)
    opened = col
    return col
  }
  const collectionReady = (): Promise<MongoCollectionLike> => {
    if (ready === undefined) {
      const attempt = init()
      ready = attempt
      // A failed connect or index creation is retried by the next operation instead of failing forever.
      attempt.catch(() => {
        if (ready === attempt) ready = undefined
      })
    }
    return ready
  }

  // Runs one driver operation within operationTimeoutMs (connect, index creation and waiting for earlier writes
  // included) and wraps every failure in a StorageError. The driver keeps going after a timeout; its late result
  // is ignored, but a write stays tracked until the driver is done with it.
  const run = async <T>(op: StorageOp, fn: (col: MongoCollectionLike) => Promise<T>, order?: Order): Promise<T> => {
    if (closed) throw new StorageError(`mongodb storage is closed; ${op} is not possible`, { storage: NAME, op })
    let timer: NodeJS.Timeout | undefined
    let expired = false
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true
        reject(
          new StorageError(
            `mongodb ${op} on ${where} timed out after ${operationTimeoutMs} ms (operationTimeoutMs)`,
            { storage: NAME, op },
            { cause: new Error(`no answer from MongoDB within ${operationTimeoutMs} ms`) },
          ),
        )
      }, operationTimeoutMs)
    })
    try {
      let work =
        opened !== undefined && order?.after === undefined
          ? fn(opened)
          : collectionReady().then(async (col) => {
              if (order?.after !== undefined) await order.after
              // A caller that already got its timeout must not see its write land later (say, after a delete that
              // succeeded in the meantime): once ready too late, skip the command instead of sending it.
              if (expired) throw new Error('operation abandoned after its timeout')
              return fn(col)
            })
      if (order?.write !== undefined) work = writes.track(order.write[0], order.write[1], work)
      return await Promise.race([work, timeout])
    } catch (error) {
      throw storageFailure(NAME, op, where, error)
    } finally {
      clearTimeout(timer)
    }
  }

  const checkText = (op: StorageOp, ...parts: string[]): void => {
    for (const part of parts) {
      if (typeof part !== 'string') {
        throw new StorageError(`mongodb ${op}: namespace and key must be strings, got ${describeValue(part)}`, {
          storage: NAME,
          op,
        })
      }
      // BSON stores strings as UTF-8, where every lone surrogate becomes U+FFFD: two keys would share a document.
      if (hasLoneSurrogate(part)) {
        throw new StorageError(
          `mongodb ${op}: a namespace or key with a lone UTF-16 surrogate can't be stored: in UTF-8 it would collide with other keys`,
          { storage: NAME, op },
        )
      }
    }
  }
  const keyOf = (op: StorageOp, namespace: string, key: string): MongoDocument => {
    checkText(op, namespace, key)
    return { p: prefix, ns: namespace, k: key }
  }

  return {
    async: true,
    name: NAME,
    scope: resolved.scope,

    async get(namespace, key) {
      const filter = keyOf('get', namespace, key)
      const doc = await run('get', (col) => col.findOne(filter, { projection: VALUE_PROJECTION }))
      return doc === null ? undefined : decodeDocument(doc, codec)
    },

    async getMany(namespace, keys) {
      if (keys.length === 0) return []
      checkText('get', namespace, ...keys)
      const docs = await run('get', (col) => findMany(col, { p: prefix, ns: namespace }, keys))
      return inOrder(docs, keys, codec)
    },

    async set(namespace, key, value, options) {
      const filter = keyOf('set', namespace, key)
      // A whole-document replacement: fields the new entry lacks (expiry, byte type, meta) disappear with the old
      // one, and `_id` is kept. (Also the form under which the stand-in test server keeps BSON Binary intact.)
      const replacement = { ...filter, ...fieldsOf(codec, value, options, Date.now()) }
      const upsert = (col: MongoCollectionLike) => col.replaceOne(filter, replacement, { upsert: true })
      const write = async (col: MongoCollectionLike): Promise<void> => {
        try {
          await upsert(col)
        } catch (error) {
          // Two concurrent upserts of a new key: the loser hits the unique index. The server retries this
          // itself since 4.2; one retry here covers older servers and the remaining cases. It now matches.
          if (codeOf(error) !== DUPLICATE_KEY) throw error
          await upsert(col)
        }
      }
      await run('set', write, { write: [namespace, key] })
    },

    async add(namespace, key, value, options) {
      const filter = keyOf('add', namespace, key)
      const now = Date.now()
      const fields = fieldsOf(codec, value, options, now)
      return run('add', (col) => addIfAbsent(col, filter, fields, now), { write: [namespace, key] })
    },

    async delete(namespace, key) {
      const filter = keyOf('delete', namespace, key)
      // findOneAndDelete removes an expired leftover too, and tells whether what it removed was live.
      const remove = (col: MongoCollectionLike) => col.findOneAndDelete(filter, { projection: EXPIRY_PROJECTION })
      const before = await run('delete', remove, { after: writes.settledKey(namespace, key) })
      return before !== null && isLive(before, Date.now())
    },

    async clear(namespace, keyPrefix) {
      checkText('clear', namespace)
      if (keyPrefix !== undefined) checkText('clear', keyPrefix)
      // Exact equality on separate fields: no pattern, so no namespace or prefix can match another's documents.
      const filter: MongoDocument = { p: prefix, ns: namespace }
      // Anchored and escaped: the regex is a plain "starts with", which MongoDB runs as a range scan of the
      // { p, ns, k } index.
      if (keyPrefix) filter.k = { $regex: `^${escapeRegex(keyPrefix)}` }
      await run('clear', (col) => col.deleteMany(filter), { after: writes.settledNamespace(namespace, keyPrefix) })
    },

    async close() {
      if (closed) return
      closed = true
      if (ownClient === undefined) return
      const toClose = ownClient
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          // Let a connect in flight settle first, or the driver could reopen what close just released.
          ready?.catch(() => undefined).then(() => toClose.close()) ?? toClose.close(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`close took longer than ${operationTimeoutMs} ms`)),
              operationTimeoutMs,
            )
          }),
        ])
      } catch (error) {
        throw storageFailure(NAME, 'close', where, error)
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

/**
 * Insert-if-absent in one atomic step: `$setOnInsert` leaves an existing document untouched, and the unique index
 * makes concurrent upserts of one key produce exactly one insert. An expired document counts as absent.
 */
async function addIfAbsent(
  col: MongoCollectionLike,
  filter: MongoDocument,
  fields: MongoDocument,
  now: number,
): Promise<boolean> {
  const insertIfAbsent = () =>
    col.findOneAndUpdate(
      filter,
      { $setOnInsert: fields },
      { upsert: true, returnDocument: 'before', projection: EXPIRY_PROJECTION },
    )
  // A second round covers the expired document vanishing between the two steps (TTL monitor, a delete or clear):
  // the key is then absent and inserting is right. A concurrent winner shows up as live instead.
  for (let round = 0; round < 2; round++) {
    let before: MongoDocument | null
    try {
      before = await insertIfAbsent()
    } catch (error) {
      // Lost a race to insert the same key (servers before 4.2 don't retry this themselves): now it matches.
      if (codeOf(error) !== DUPLICATE_KEY) throw error
      before = await insertIfAbsent()
    }
    if (before === null) return true
    if (isLive(before, now)) return false
    // An expired document the TTL monitor hasn't removed yet: replace it only while it is still expired, so of
    // several concurrent callers exactly one wins (the winner's write moves `e` past now, or removes it).
    const expired = { ...filter, e: { $lte: new Date(now) } }
    const replaced = await col.replaceOne(expired, { ...filter, ...fields }, { upsert: false })
    if (replaced.matchedCount === 1) return true
  }
  return false
}
