/** The options of {@link mongoStorage}: their types, their checks, and the client and scope they resolve to. */
import { type Codec, ConfigError, resolveCodec } from '@memokit/core'
import {
  DEFAULT_OPERATION_TIMEOUT_MS,
  describeValue,
  messageOf,
  rejectUnknownOptions,
  resolveOperationTimeout,
  resolvePrefix,
} from '@memokit/core/backend'
import { MongoClient, type MongoClientOptions } from 'mongodb'
import type { MongoClientLike } from './documents'
import { validateCollectionName, validateDatabaseName } from './names'

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
   * collection never see or clear each other's entries. Default: `'memokit/<name>'`, `<name>` being your
   * application's package.json `name` (see README, "Default prefix"), so two applications on one collection never
   * share entries while replicas of one application do.
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
   * Your own `MongoClient` (official driver 7.x, the peer range), typed structurally. The storage doesn't connect or
   * close it: the driver connects on the first operation by itself.
   */
  readonly client: MongoClientLike
  readonly url?: undefined
  readonly clientOptions?: undefined
}

/** Options of {@link mongoStorage}: exactly one of `url` or `client`. */
export type MongoStorageOptions = MongoStorageUrlOptions | MongoStorageClientOptions

/** Default database of {@link mongoStorage}: `'memokit'`. */
export const DEFAULT_DATABASE = 'memokit'
/** Default collection of {@link mongoStorage}: `'cache'`. */
export const DEFAULT_COLLECTION = 'cache'
/** Default `operationTimeoutMs` of {@link mongoStorage}: 1000 ms. */
export { DEFAULT_OPERATION_TIMEOUT_MS }

const OWNER = 'mongoStorage'
const OPTIONS = [
  'url',
  'client',
  'clientOptions',
  'database',
  'collection',
  'prefix',
  'codec',
  'operationTimeoutMs',
  'createIndexes',
] as const

/** The checked options, with defaults applied and the client built. */
export interface ResolvedOptions {
  readonly client: MongoClientLike
  /** The client built from `url`, which `close()` closes; `undefined` for a client passed in. */
  readonly ownClient: MongoClient | undefined
  readonly database: string
  readonly collection: string
  readonly prefix: string
  readonly codec: Codec
  readonly operationTimeoutMs: number
  readonly createIndexes: boolean
  /** Where the storage writes: server, database, collection and prefix (see {@link scopeOf}). */
  readonly scope: string
  /** Server, database and collection, for messages. */
  readonly where: string
}

/** Checks every option before anything is opened (a ConfigError names the bad one) and builds the client. */
export function resolveOptions(options: MongoStorageOptions): ResolvedOptions {
  rejectUnknownOptions(OWNER, options, OPTIONS, "mongoStorage({ url: 'mongodb://127.0.0.1:27017' })")
  const { url, client: userClient, clientOptions, database = DEFAULT_DATABASE } = options
  const { collection = DEFAULT_COLLECTION, createIndexes = true } = options
  validateDatabaseName(database)
  validateCollectionName(collection, database)
  const operationTimeoutMs = resolveOperationTimeout(OWNER, options.operationTimeoutMs)
  const codec = resolveCodec(options.codec, OWNER)
  if (typeof createIndexes !== 'boolean') {
    throw new ConfigError('createIndexes', `createIndexes must be a boolean, got ${describeValue(createIndexes)}`)
  }
  if (url !== undefined && userClient !== undefined) {
    throw new ConfigError('url', 'pass either url or client to mongoStorage, not both')
  }
  if (clientOptions !== undefined && url === undefined) {
    throw new ConfigError('clientOptions', 'clientOptions only apply with url; configure your own client directly')
  }
  if (userClient !== undefined) {
    if (typeof userClient !== 'object' || userClient === null || typeof userClient.db !== 'function') {
      throw new ConfigError('client', `client must be a MongoClient, got ${describeValue(userClient)}`)
    }
  } else if (typeof url !== 'string' || !/^mongodb(\+srv)?:\/\//.test(url)) {
    throw new ConfigError(
      'url',
      `mongoStorage needs url (a 'mongodb://' or 'mongodb+srv://' connection string) or client, got ${describeValue(url)}`,
    )
  }
  // Last: the default is derived from the application's package.json, and says so when there is none.
  const prefix = resolvePrefix(OWNER, options.prefix)
  const ownClient =
    userClient === undefined ? createClient(url as string, clientOptions, operationTimeoutMs) : undefined
  const client = userClient ?? (ownClient as MongoClient)
  const server = serverOf(client)
  const where = `${server}/${database}.${collection}`
  return {
    client,
    ownClient,
    database,
    collection,
    prefix,
    codec,
    operationTimeoutMs,
    createIndexes,
    scope: `${server}/${database}.${encodeURIComponent(collection)}?prefix=${encodeURIComponent(prefix)}`,
    where,
  }
}

function createClient(url: string, clientOptions: MongoClientOptions | undefined, timeoutMs: number): MongoClient {
  // The driver's own timeouts fire a little before ours so that, on a dead server, its error (which names the
  // reason, e.g. ECONNREFUSED) becomes the StorageError's cause. socketTimeoutMS tears down a hung connection
  // soon after the caller gave up on it, so it doesn't hold a pool slot forever.
  const driverTimeoutMs = Math.max(1, Math.floor(timeoutMs * 0.9))
  const derived: MongoClientOptions = {}
  // Constructor options beat the URL's: set ours only where the URL has no say, so `?socketTimeoutMS=…` wins.
  const inUrl = (option: string): boolean => new RegExp(`[?&]${option}=`, 'i').test(url)
  if (!inUrl('serverSelectionTimeoutMS')) derived.serverSelectionTimeoutMS = driverTimeoutMs
  if (!inUrl('connectTimeoutMS')) derived.connectTimeoutMS = driverTimeoutMs
  if (!inUrl('socketTimeoutMS')) derived.socketTimeoutMS = Math.ceil(timeoutMs * 2)
  try {
    return new MongoClient(url, { ...derived, ...clientOptions })
  } catch (error) {
    throw new ConfigError('url', `invalid MongoDB url or clientOptions: ${messageOf(error)}`, { cause: error })
  }
}

const anonymous = new WeakMap<object, number>()
let anonymousCount = 0

/**
 * The server a client talks to, without credentials: `mongodb+srv://<srv host>`, or `mongodb://<host:port,…>`
 * (sorted, lowercase) from the driver's parsed options. A client that doesn't expose them (a wrapper typed
 * structurally) is its own place: `mongodb://client-<n>`.
 */
function serverOf(client: MongoClientLike): string {
  const parsed = (client as { options?: { hosts?: unknown; srvHost?: unknown } }).options
  if (typeof parsed?.srvHost === 'string' && parsed.srvHost !== '') {
    return `mongodb+srv://${parsed.srvHost.toLowerCase()}`
  }
  if (Array.isArray(parsed?.hosts) && parsed.hosts.length > 0) {
    return `mongodb://${parsed.hosts
      .map((host) => String(host).toLowerCase())
      .sort()
      .join(',')}`
  }
  let n = anonymous.get(client)
  if (n === undefined) {
    n = ++anonymousCount
    anonymous.set(client, n)
  }
  return `mongodb://client-${n}`
}
