import {
  type AsyncStorage,
  type Codec,
  CodecError,
  ConfigError,
  type Entry,
  resolveCodec,
  type SetOptions,
  StorageError,
  type StorageOp,
} from '@memokit/core'
import { MongoClient, type MongoClientOptions } from 'mongodb'
import { describe, validateCollectionName, validateDatabaseName } from './names'

/** A MongoDB document as memokit reads and writes it. */
export type MongoDocument = Record<string, unknown>

/**
 * The collection methods memokit calls. The official driver's `Collection` (6.x, 7.x) satisfies it; declared
 * structurally so that the user's client, whichever copy of `mongodb` it comes from, is accepted.
 */
export interface MongoCollectionLike {
  findOne(filter: MongoDocument, options: { projection: MongoDocument }): Promise<MongoDocument | null>
  replaceOne(
    filter: MongoDocument,
    replacement: MongoDocument,
    options: { upsert: boolean },
  ): Promise<{ matchedCount: number }>
  findOneAndUpdate(
    filter: MongoDocument,
    update: MongoDocument,
    options: { upsert: boolean; returnDocument: 'before'; projection: MongoDocument },
  ): Promise<MongoDocument | null>
  findOneAndDelete(filter: MongoDocument, options: { projection: MongoDocument }): Promise<MongoDocument | null>
  deleteMany(filter: MongoDocument): Promise<unknown>
  createIndexes(
    specs: { key: Record<string, 1>; name: string; unique?: boolean; expireAfterSeconds?: number }[],
  ): Promise<unknown>
}

/** The part of a `MongoClient` memokit uses: `client.db(name).collection(name)`. */
export interface MongoClientLike {
  db(name: string): { collection(name: string): MongoCollectionLike }
}

/** Options shared by both forms of {@link MongoStorageOptions}. */
export interface MongoStorageSharedOptions {
  /**
   * Database name; MongoDB rules apply (no `/\. "$*<>:|?`, under 64 bytes).
   * @default 'memokit'
   */
  readonly database?: string
  /**
   * Collection name; MongoDB rules apply (not empty, no `$`, not starting with `system.`).
   * @default 'cache'
   */
  readonly collection?: string
  /**
   * Storage-level prefix, stored in field `p` of every document; storages with different prefixes sharing one
   * collection never see or clear each other's entries.
   * @default 'memokit'
   */
  readonly prefix?: string
  /**
   * Codec for values (byte values, a top-level `Buffer` or `Uint8Array`, bypass it and are stored as BSON Binary).
   * @default createCodec()
   */
  readonly codec?: Codec
  /**
   * Upper bound in ms for every operation, including connecting and creating the indexes on first use; past it
   * the call rejects with a `StorageError`. Also sets the driver's server selection and connect timeouts
   * (90% of it) for a client created from `url`.
   * @default 1000
   */
  readonly operationTimeoutMs?: number
  /**
   * Create the unique key index and the TTL index on first use (once per storage). Turn off only when the
   * database user lacks the `createIndex` privilege and the indexes are managed elsewhere (see README).
   * @default true
   */
  readonly createIndexes?: boolean
}

/** {@link mongoStorage} with a connection string: the storage owns its client. */
export interface MongoStorageUrlOptions extends MongoStorageSharedOptions {
  /**
   * Connection string; the storage creates its own `MongoClient`, connects on the first operation and closes it
   * in `close()`.
   * @example 'mongodb://127.0.0.1:27017'
   */
  readonly url: string
  /**
   * Extra driver options for the client created from `url` (TLS, auth, pool size...). They override the
   * timeouts memokit derives from `operationTimeoutMs`.
   * @default {}
   */
  readonly clientOptions?: MongoClientOptions
  readonly client?: undefined
}

/** {@link mongoStorage} with your own client: the storage never closes it. */
export interface MongoStorageClientOptions extends MongoStorageSharedOptions {
  /**
   * Your own `MongoClient` (official driver 6.x or 7.x), typed structurally. The storage doesn't connect or
   * close it: the driver connects on the first operation by itself.
   */
  readonly client: MongoClientLike
  readonly url?: undefined
  readonly clientOptions?: undefined
}

/** Options of {@link mongoStorage}: exactly one of `url` or `client`. */
export type MongoStorageOptions = MongoStorageUrlOptions | MongoStorageClientOptions

/** The storage {@link mongoStorage} returns: an `AsyncStorage` whose `add` and `close` are always present. */
export interface MongoStorage extends AsyncStorage {
  /** Atomic set-if-absent (an expired leftover counts as absent); resolves to `true` if this call wrote it. */
  add(namespace: string, key: string, value: unknown, options?: SetOptions): Promise<boolean>
  /** Closes the client built from `url`; a client you passed stays open. Later calls reject with StorageError. */
  close(): Promise<void>
}

/** Default database of {@link mongoStorage}: `'memokit'`. */
export const DEFAULT_DATABASE = 'memokit'
/** Default collection of {@link mongoStorage}: `'cache'`. */
export const DEFAULT_COLLECTION = 'cache'
/** Default `operationTimeoutMs` of {@link mongoStorage}: 1000 ms. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 1000

const NAME = 'mongodb'
// Index names are fixed so that a second storage (or process) on the same collection finds them already there.
const KEY_INDEX = 'memokit_key'
const TTL_INDEX = 'memokit_ttl'
const DUPLICATE_KEY = 11000
// Values of type tag `t`: absent = codec payload string in `v`, otherwise raw bytes stored as BSON Binary.
const BUFFER = 'b'
const UINT8ARRAY = 'u'

// BSON stores strings as UTF-8, where every lone UTF-16 surrogate becomes U+FFFD: two different keys would
// share one document. Such strings are refused instead.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

const VALUE_PROJECTION = { _id: 0, v: 1, t: 1, c: 1, e: 1 }
const EXPIRY_PROJECTION = { _id: 0, e: 1 }

/**
 * A MongoDB storage (official driver). One document per entry, `{ p: prefix, ns: namespace, k: key, v: value,
 * t?: byte type, c: created Date, e?: expiry Date }`, with a unique index on `{ p, ns, k }` and a TTL index on
 * `e`. Connects lazily; every operation is bounded by `operationTimeoutMs`; failures reject with `StorageError`.
 *
 * @example
 * const storage = mongoStorage({ url: 'mongodb://127.0.0.1:27017' })
 * const storage2 = mongoStorage({ client: myMongoClient, database: 'app', collection: 'memo' })
 */
export function mongoStorage(options: MongoStorageOptions): MongoStorage {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(
      'options',
      `mongoStorage needs an options object with url or client, got ${describe(options)}`,
    )
  }
  const {
    url,
    client: userClient,
    clientOptions,
    database = DEFAULT_DATABASE,
    collection = DEFAULT_COLLECTION,
    prefix = 'memokit',
    operationTimeoutMs = DEFAULT_OPERATION_TIMEOUT_MS,
    createIndexes = true,
  } = options

  validateDatabaseName(database)
  validateCollectionName(collection, database)
  if (typeof prefix !== 'string' || LONE_SURROGATE.test(prefix)) {
    throw new ConfigError('prefix', `prefix must be a well-formed string (no lone surrogate), got ${describe(prefix)}`)
  }
  if (typeof operationTimeoutMs !== 'number' || !Number.isFinite(operationTimeoutMs) || operationTimeoutMs <= 0) {
    throw new ConfigError(
      'operationTimeoutMs',
      `operationTimeoutMs must be a positive finite number of ms, got ${describe(operationTimeoutMs)}`,
    )
  }
  const codec = resolveCodec(options.codec, 'mongoStorage')
  if (typeof createIndexes !== 'boolean') {
    throw new ConfigError('createIndexes', `createIndexes must be a boolean, got ${describe(createIndexes)}`)
  }
  if (url !== undefined && userClient !== undefined) {
    throw new ConfigError('url', 'pass either url or client to mongoStorage, not both')
  }
  if (clientOptions !== undefined && url === undefined) {
    throw new ConfigError('clientOptions', 'clientOptions only apply with url; configure your own client directly')
  }

  let ownClient: MongoClient | undefined
  let client: MongoClientLike
  if (userClient !== undefined) {
    if (typeof userClient !== 'object' || userClient === null || typeof userClient.db !== 'function') {
      throw new ConfigError('client', `client must be a MongoClient, got ${describe(userClient)}`)
    }
    client = userClient
  } else {
    if (typeof url !== 'string' || !/^mongodb(\+srv)?:\/\//.test(url)) {
      throw new ConfigError(
        'url',
        `mongoStorage needs url (a 'mongodb://' or 'mongodb+srv://' connection string) or client, got ${describe(url)}`,
      )
    }
    // The driver's own timeouts fire a little before ours so that, on a dead server, its error (which names the
    // reason, e.g. ECONNREFUSED) becomes the StorageError's cause. socketTimeoutMS tears down a hung connection
    // soon after the caller gave up on it, so it doesn't hold a pool slot forever.
    const driverTimeoutMs = Math.max(1, Math.floor(operationTimeoutMs * 0.9))
    const derived: MongoClientOptions = {}
    // Constructor options beat the URL's: set ours only where the URL has no say, so `?socketTimeoutMS=…` wins.
    const inUrl = (option: string): boolean => new RegExp(`[?&]${option}=`, 'i').test(url)
    if (!inUrl('serverSelectionTimeoutMS')) derived.serverSelectionTimeoutMS = driverTimeoutMs
    if (!inUrl('connectTimeoutMS')) derived.connectTimeoutMS = driverTimeoutMs
    if (!inUrl('socketTimeoutMS')) derived.socketTimeoutMS = Math.ceil(operationTimeoutMs * 2)
    try {
      ownClient = new MongoClient(url, { ...derived, ...clientOptions })
    } catch (error) {
      throw new ConfigError('url', `invalid MongoDB url or clientOptions: ${messageOf(error)}`, { cause: error })
    }
    client = ownClient
  }

  let closed = false
  let ready: Promise<MongoCollectionLike> | undefined

  const init = async (): Promise<MongoCollectionLike> => {
    if (ownClient) await ownClient.connect()
    const col = client.db(database).collection(collection)
    if (createIndexes) {
      // Once per storage: creating indexes that already exist with the same options is a no-op on the server.
      try {
        await col.createIndexes([
          { key: { p: 1, ns: 1, k: 1 }, name: KEY_INDEX, unique: true },
          // expireAfterSeconds 0: each document expires at its own `e`; documents without `e` never expire.
          { key: { e: 1 }, name: TTL_INDEX, expireAfterSeconds: 0 },
        ])
      } catch (error) {
        // A conflicting index or a missing privilege fails every first operation: say how to get out of it.
        throw new Error(
          `creating the indexes of ${database}.${collection} failed (${messageOf(error)}); drop a conflicting index on { p, ns, k } or { e }, or create the indexes yourself and pass createIndexes: false (see README)`,
          { cause: error },
        )
      }
    }
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

  // Runs one driver operation within operationTimeoutMs (connect and index creation included) and wraps every
  // failure in a StorageError. The driver keeps going after a timeout; its late result is ignored.
  const run = async <T>(op: StorageOp, fn: (col: MongoCollectionLike) => Promise<T>): Promise<T> => {
    if (closed) throw new StorageError(`mongodb storage is closed; ${op} is not possible`, { storage: NAME, op })
    let timer: NodeJS.Timeout | undefined
    let expired = false
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true
        reject(
          new StorageError(
            `mongodb ${op} timed out after ${operationTimeoutMs} ms (operationTimeoutMs)`,
            { storage: NAME, op },
            { cause: new Error(`no answer from MongoDB within ${operationTimeoutMs} ms`) },
          ),
        )
      }, operationTimeoutMs)
    })
    try {
      const work = collectionReady().then((col) => {
        // A caller that already got its timeout must not see its write land later (say, after a delete that
        // succeeded in the meantime): once connected too late, skip the command instead of sending it.
        if (expired) throw new Error('operation abandoned after its timeout')
        return fn(col)
      })
      return await Promise.race([work, timeout])
    } catch (error) {
      if (error instanceof StorageError) throw error
      throw new StorageError(`mongodb ${op} failed: ${messageOf(error)}`, { storage: NAME, op }, { cause: error })
    } finally {
      clearTimeout(timer)
    }
  }

  const checkText = (op: StorageOp, ...parts: string[]): void => {
    for (const part of parts) {
      if (typeof part !== 'string') {
        throw new StorageError(`mongodb ${op}: namespace and key must be strings, got ${describe(part)}`, {
          storage: NAME,
          op,
        })
      }
      if (LONE_SURROGATE.test(part)) {
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

  // The fields of a written entry. Throws (CodecError, ConfigError) before anything is sent.
  const fieldsOf = (value: unknown, options: SetOptions | undefined, now: number): MongoDocument => {
    const ttl = options?.ttl
    if (ttl !== undefined && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
      throw new ConfigError('ttl', `ttl must be a positive finite number of ms or undefined, got ${describe(ttl)}`)
    }
    const fields: MongoDocument = {}
    const proto = value instanceof Uint8Array ? Object.getPrototypeOf(value) : undefined
    if (proto === Buffer.prototype || proto === Uint8Array.prototype) {
      // The driver serializes a Uint8Array as BSON Binary: raw bytes, no base64 or JSON around them.
      fields.v = value
      fields.t = proto === Buffer.prototype ? BUFFER : UINT8ARRAY
    } else {
      fields.v = codec.encode(value)
    }
    fields.c = new Date(now)
    // Fields are left out, never set to undefined: the driver would store undefined as null.
    if (ttl !== undefined) fields.e = new Date(now + ttl)
    return fields
  }

  const isLive = (doc: MongoDocument, now: number): boolean => {
    const e = doc.e
    return e === undefined || e === null || (e instanceof Date && e.getTime() > now)
  }

  return {
    async: true,
    name: NAME,

    async get(namespace, key) {
      const filter = keyOf('get', namespace, key)
      const doc = await run('get', (col) => col.findOne(filter, { projection: VALUE_PROJECTION }))
      if (doc === null) return undefined
      return decodeDocument(doc, codec)
    },

    async set(namespace, key, value, options) {
      const filter = keyOf('set', namespace, key)
      // A whole-document replacement: fields the new entry lacks (expiry, byte type) disappear with the old one,
      // and `_id` is kept. (Also the form under which the stand-in test server keeps BSON Binary intact.)
      const replacement = { ...filter, ...fieldsOf(value, options, Date.now()) }
      await run('set', async (col) => {
        try {
          await col.replaceOne(filter, replacement, { upsert: true })
        } catch (error) {
          // Two concurrent upserts of a new key: the loser hits the unique index. The server retries this
          // itself since 4.2; one retry here covers older servers and the remaining cases. It now matches.
          if (codeOf(error) !== DUPLICATE_KEY) throw error
          await col.replaceOne(filter, replacement, { upsert: true })
        }
      })
    },

    async add(namespace, key, value, options) {
      const filter = keyOf('add', namespace, key)
      const now = Date.now()
      const fields = fieldsOf(value, options, now)
      return run('add', async (col) => {
        // Insert-if-absent in one atomic step: $setOnInsert leaves an existing document untouched, and the
        // unique index makes concurrent upserts of the same key produce exactly one insert.
        const insertIfAbsent = () =>
          col.findOneAndUpdate(
            filter,
            { $setOnInsert: fields },
            { upsert: true, returnDocument: 'before', projection: EXPIRY_PROJECTION },
          )
        // A second round covers the expired document vanishing between the two steps (TTL monitor, a delete or
        // clear): the key is then absent and inserting is right. A concurrent winner shows up as live instead.
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
          // An expired document the TTL monitor hasn't removed yet: replace it only while it is still expired, so
          // of several concurrent callers exactly one wins (the winner's write moves `e` past now, or removes it).
          const expired = { ...filter, e: { $lte: new Date(now) } }
          const replaced = await col.replaceOne(expired, { ...filter, ...fields }, { upsert: false })
          if (replaced.matchedCount === 1) return true
        }
        return false
      })
    },

    async delete(namespace, key) {
      const filter = keyOf('delete', namespace, key)
      // findOneAndDelete removes an expired leftover too, and tells whether what it removed was live.
      const before = await run('delete', (col) => col.findOneAndDelete(filter, { projection: EXPIRY_PROJECTION }))
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
      await run('clear', (col) => col.deleteMany(filter))
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
        throw new StorageError(
          `mongodb close failed: ${messageOf(error)}`,
          { storage: NAME, op: 'close' },
          { cause: error },
        )
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

function decodeDocument(doc: MongoDocument, codec: Codec): Entry | undefined {
  const { v, t, c, e } = doc
  let expiresAt: number | undefined
  if (e !== undefined && e !== null) {
    if (!(e instanceof Date)) throw new CodecError(`corrupt mongodb document: expiry field e is not a Date`)
    expiresAt = e.getTime()
    // The TTL monitor deletes expired documents only about once a minute: never return one it hasn't reached.
    if (expiresAt <= Date.now()) return undefined
  }
  if (!(c instanceof Date)) throw new CodecError(`corrupt mongodb document: creation field c is not a Date`)
  let value: unknown
  if (t === undefined || t === null) {
    if (typeof v !== 'string') throw new CodecError('corrupt mongodb document: value field v is not a codec payload')
    value = codec.decode(v)
  } else {
    const bytes = bytesOf(v)
    if (bytes === undefined) throw new CodecError('corrupt mongodb document: byte value v is not BSON Binary')
    // Copies, so the value owns its memory instead of pinning the driver's response buffer.
    if (t === BUFFER) value = Buffer.from(bytes)
    else if (t === UINT8ARRAY) value = new Uint8Array(bytes)
    else throw new CodecError(`corrupt mongodb document: unknown value type ${describe(t)}`)
  }
  return { value, createdAt: c.getTime(), expiresAt }
}

// BSON Binary from any copy of the bson package (checked structurally: the user's client may bring its own).
function bytesOf(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v
  if (typeof v === 'object' && v !== null && (v as { _bsontype?: unknown })._bsontype === 'Binary') {
    const value = (v as { value?: unknown }).value
    if (typeof value === 'function') {
      const bytes: unknown = value.call(v)
      if (bytes instanceof Uint8Array) return bytes
    }
  }
  return undefined
}

// Escapes every regex syntax character (valid both for MongoDB's PCRE and JavaScript's RegExp, which the stand-in
// uses); NUL becomes \x00 because a BSON regex or string can't carry it raw into PCRE reliably.
function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&').replace(/\0/g, '\\x00')
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
