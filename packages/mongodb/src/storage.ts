import { type AsyncStorage, type SetOptions, StorageError, type StorageOp } from '@memokit/core'
import {
  checkLeaseToken,
  checkLeaseTtl,
  createWriteTracker,
  describeValue,
  hasLoneSurrogate,
  storageClosed,
} from '@memokit/core/backend'
import { openConnection } from './connection'
import {
  decodeDocument,
  EXPIRY_PROJECTION,
  escapeRegex,
  fieldsOf,
  isLive,
  type MongoCollectionLike,
  type MongoDocument,
  VALUE_PROJECTION,
} from './documents'
import { addIfAbsent, writeEntry } from './entry-writes'
import { findMany, inOrder } from './get-many'
import * as leases from './leases'
import { type MongoStorageOptions, resolveOptions } from './options'

/** The storage {@link mongoStorage} returns: an `AsyncStorage` whose `add`, `close`, `scope` and leases are present. */
export interface MongoStorage extends AsyncStorage {
  /**
   * Where the storage writes, without credentials: `mongodb://<host:port,…>/<database>.<collection>?prefix=<prefix>`
   * (`mongodb+srv://<host>/…` for an SRV URL). Storages with the same scope share entries.
   */
  readonly scope: string
  /** Atomic set-if-absent (an expired leftover counts as absent); resolves to `true` if this call wrote it. */
  add(namespace: string, key: string, value: unknown, options?: SetOptions): Promise<boolean>
  /** Takes the lease on `key` for `ttl` ms unless a live one is held; one conditional write (two after a lapse). */
  acquireLease(namespace: string, key: string, token: string, ttl: number): Promise<boolean>
  /** Removes the lease while it holds `token`. */
  releaseLease(namespace: string, key: string, token: string): Promise<boolean>
  /** Moves the lease's expiry to `ttl` ms from now while it holds `token`. */
  extendLease(namespace: string, key: string, token: string, ttl: number): Promise<boolean>
  /** Writes the entry as `set` does and drops the lease, in one conditional replace, while the lease holds `token`. */
  setIfLeased(namespace: string, key: string, value: unknown, token: string, options?: SetOptions): Promise<boolean>
  /**
   * Closes the client built from `url`; a client you passed stays open. Later calls reject with StorageError, and
   * memokit's background retries of failed clears on this storage end (each reported once as not retried).
   */
  close(): Promise<void>
}

const NAME = 'mongodb'

/**
 * A MongoDB storage (official driver). One document per entry, `{ p: prefix, ns: namespace, k: key, v: value,
 * t?: byte type, m?: meta JSON, c: created Date, e?: expiry Date }`, with a unique index on `{ p, ns, k }` and a
 * TTL index on `e`, both partial (memokit's documents only); a lease adds `l` (token) and `le` (its expiry) to the
 * document of its key. Connects lazily; every operation is bounded by `operationTimeoutMs`; failures reject with
 * `StorageError`. `delete` and `clear` wait for the writes this storage object has already sent of what they
 * remove: the driver's pool may otherwise run them first.
 *
 * @example
 * const storage = mongoStorage({ url: 'mongodb://127.0.0.1:27017' })
 * const storage2 = mongoStorage({ client: myMongoClient, database: 'app', collection: 'memo' })
 */
export function mongoStorage(options: MongoStorageOptions): MongoStorage {
  const resolved = resolveOptions(options)
  const { prefix, codec } = resolved
  const writes = createWriteTracker()
  const { run, close } = openConnection(resolved, writes)
  // A set or add goes after the key's writes already issued: the driver's pool may send two writes on different
  // connections, and a set that timed out for its caller, still on its way, would land after a newer one.
  const writeOrder = (namespace: string, key: string) =>
    ({ write: [namespace, key], after: writes.settledKey(namespace, key) }) as const

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
  // `get`'s filter names the key first. A server that tests a filter's fields in order on every document it scans
  // (the wire-protocol stand-in scans the whole collection for each find) then rejects every other key at the
  // first field, where `{ p, ns, k }` compared the two fields all documents share first: a hit cost it a third
  // more CPU than a `findOne({ k })`. MongoDB plans the same { p, ns, k } index for either order. Writes keep
  // `keyOf`'s order, so the documents an upsert creates keep their field order.
  const hitFilterOf = (namespace: string, key: string): MongoDocument => {
    checkText('get', namespace, key)
    return { k: key, ns: namespace, p: prefix }
  }
  const leaseKeyOf = (op: StorageOp, namespace: string, key: string, token: string): MongoDocument => {
    checkLeaseToken('mongodb', token)
    return keyOf(op, namespace, key)
  }

  const decodeHit = (doc: MongoDocument | null) => (doc === null ? undefined : decodeDocument(doc, codec))

  const storage: MongoStorage = {
    async: true,
    name: NAME,
    scope: resolved.scope,

    // Not an async function: a hit is the driver's promise plus the one `run` makes (decoding included).
    get(namespace, key) {
      let filter: MongoDocument
      try {
        filter = hitFilterOf(namespace, key)
      } catch (error) {
        return Promise.reject(error)
      }
      return run('get', (col) => col.findOne(filter, { projection: VALUE_PROJECTION }), undefined, decodeHit)
    },

    async getMany(namespace, keys) {
      if (keys.length === 0) return []
      checkText('get', namespace, ...keys)
      const docs = await run('get', (col) => findMany(col, { p: prefix, ns: namespace }, keys))
      return inOrder(docs, keys, codec)
    },

    async set(namespace, key, value, options) {
      const filter = keyOf('set', namespace, key)
      const fields = fieldsOf(codec, value, options, Date.now())
      await run('set', (col) => writeEntry(col, filter, fields), writeOrder(namespace, key))
    },

    async add(namespace, key, value, options) {
      const filter = keyOf('add', namespace, key)
      const now = Date.now()
      const fields = fieldsOf(codec, value, options, now)
      return run('add', (col) => addIfAbsent(col, filter, fields, now), writeOrder(namespace, key))
    },

    async acquireLease(namespace, key, token, ttl) {
      const filter = leaseKeyOf('acquireLease', namespace, key, token)
      checkLeaseTtl('mongodb', ttl)
      const now = Date.now()
      return run('acquireLease', (col) => leases.acquireLease(col, filter, token, ttl, now), {
        write: [namespace, key],
      })
    },

    async releaseLease(namespace, key, token) {
      const filter = leaseKeyOf('releaseLease', namespace, key, token)
      const now = Date.now()
      return run('releaseLease', (col) => leases.releaseLease(col, filter, token, now), { write: [namespace, key] })
    },

    async extendLease(namespace, key, token, ttl) {
      const filter = leaseKeyOf('extendLease', namespace, key, token)
      checkLeaseTtl('mongodb', ttl)
      const now = Date.now()
      return run('extendLease', (col) => leases.extendLease(col, filter, token, ttl, now), { write: [namespace, key] })
    },

    async setIfLeased(namespace, key, value, token, options) {
      const filter = leaseKeyOf('setIfLeased', namespace, key, token)
      const now = Date.now()
      const fields = fieldsOf(codec, value, options, now)
      return run('setIfLeased', (col) => leases.setIfLeased(col, filter, fields, token, now), {
        write: [namespace, key],
      })
    },

    async delete(namespace, key) {
      const filter = keyOf('delete', namespace, key)
      // findOneAndDelete removes an expired leftover (and a lease) too, and tells whether what it removed was live.
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

    close: () => {
      storageClosed(storage)
      return close()
    },
  }
  return storage
}
