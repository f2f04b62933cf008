/**
 * How an entry becomes a MongoDB document and back: `{ p: prefix, ns: namespace, k: key, v: value, t?: byte type,
 * m?: meta as JSON, c: created Date, e?: expiry Date }`, plus `l: token, le: lease expiry Date` while a lease is
 * held on the key. A document without `c` holds no live entry (a lease alone has neither `v` nor `c`). No I/O here.
 */
import { type Codec, CodecError, type Entry, type EntryMeta, type SetOptions } from '@memokit/core'
import { describeValue, resolveEntryTtl } from '@memokit/core/backend'

/** A MongoDB document as memokit reads and writes it. */
export type MongoDocument = Record<string, unknown>

/** One index as memokit asks for it (`createIndexes`). */
export interface MongoIndexSpec {
  readonly key: Record<string, 1>
  readonly name: string
  readonly unique?: boolean
  readonly expireAfterSeconds?: number
  readonly partialFilterExpression?: MongoDocument
}

/**
 * The collection methods memokit calls. The official driver's `Collection` (6.x, 7.x) satisfies it; declared
 * structurally so that the user's client, whichever copy of `mongodb` it comes from, is accepted.
 */
export interface MongoCollectionLike {
  findOne(filter: MongoDocument, options: { projection: MongoDocument }): Promise<MongoDocument | null>
  /** `getMany`: one query for all its keys. */
  find(filter: MongoDocument, options: { projection: MongoDocument }): { toArray(): Promise<MongoDocument[]> }
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
  /** `set` (keeping a lease), leases. */
  updateOne(
    filter: MongoDocument,
    update: MongoDocument,
    options?: { upsert: boolean },
  ): Promise<{ matchedCount: number }>
  findOneAndDelete(filter: MongoDocument, options: { projection: MongoDocument }): Promise<MongoDocument | null>
  /** `releaseLease` of a lease without an entry. */
  deleteOne(filter: MongoDocument): Promise<{ deletedCount: number }>
  deleteMany(filter: MongoDocument): Promise<unknown>
  createIndexes(specs: MongoIndexSpec[]): Promise<unknown>
}

/** The part of a `MongoClient` memokit uses: `client.db(name).collection(name)`. */
export interface MongoClientLike {
  db(name: string): { collection(name: string): MongoCollectionLike }
}

// Values of type tag `t`: absent = codec payload string in `v`, otherwise raw bytes stored as BSON Binary.
const BUFFER = 'b'
const UINT8ARRAY = 'u'

export const VALUE_PROJECTION = { _id: 0, v: 1, t: 1, m: 1, c: 1, e: 1 }
/** What tells whether a document holds a live entry ({@link isLive}). */
export const EXPIRY_PROJECTION = { _id: 0, c: 1, e: 1 }
/** The entry fields a write leaves out when the entry has none ($unset, so no earlier entry's field survives). */
export const OPTIONAL_ENTRY_FIELDS = ['t', 'm', 'e'] as const

/**
 * The fields of a written entry. Throws (CodecError, ConfigError) before anything is sent. Meta is kept as its JSON
 * text: verbatim whatever its keys (BSON field names may not start with `$` or hold `.` on older servers).
 */
export function fieldsOf(codec: Codec, value: unknown, options: SetOptions | undefined, now: number): MongoDocument {
  const ttl = resolveEntryTtl('mongodb', options?.ttl)
  const fields: MongoDocument = {}
  const proto = value instanceof Uint8Array ? Object.getPrototypeOf(value) : undefined
  if (proto === Buffer.prototype || proto === Uint8Array.prototype) {
    // The driver serializes a Uint8Array as BSON Binary: raw bytes, no base64 or JSON around them.
    fields.v = value
    fields.t = proto === Buffer.prototype ? BUFFER : UINT8ARRAY
  } else {
    fields.v = codec.encode(value)
  }
  // Fields are left out, never set to undefined: the driver would store undefined as null.
  if (options?.meta !== undefined) fields.m = metaText(options.meta)
  fields.c = new Date(now)
  if (ttl !== undefined) fields.e = dateAfter(now, ttl)
  return fields
}

/** The latest time a JS Date (and so a BSON date written from one) can hold: 8.64e15 ms, in the year 275760. */
const MAX_DATE_MS = 8.64e15

/**
 * The Date `ttl` ms after `now`, capped at the latest valid Date. Past it `new Date` is an Invalid Date, which the
 * driver writes as the epoch: an entry with a very long ttl (say Number.MAX_SAFE_INTEGER for "forever") came back
 * as already expired, and a lease as already lapsed, so every acquire took it.
 */
export const dateAfter = (now: number, ttl: number): Date => new Date(Math.min(now + ttl, MAX_DATE_MS))

function metaText(meta: EntryMeta): string {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new CodecError(`mongodb: meta must be a plain object of JSON values, got ${describeValue(meta)}`)
  }
  try {
    return JSON.stringify(meta)
  } catch (error) {
    throw new CodecError('mongodb: meta must be a plain object of JSON values', { cause: error })
  }
}

/** Whether a document (projected to `c` and `e`) holds a live entry at `now`; a lease alone is no entry. */
export const isLive = (doc: MongoDocument, now: number): boolean => {
  if (doc.c === undefined) return false
  const e = doc.e
  return e === undefined || e === null || (e instanceof Date && e.getTime() > now)
}

/**
 * The entry a document holds, or `undefined` when it has expired; a CodecError when it is corrupt. A document
 * written before meta existed has no `m`: its entry has no meta.
 */
export function decodeDocument(doc: MongoDocument, codec: Codec): Entry | undefined {
  const { v, t, m, c, e } = doc
  // A lease taken on a key without an entry: nothing to read (its `e` is the lease's expiry).
  if (v === undefined && c === undefined) return undefined
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
    else throw new CodecError(`corrupt mongodb document: unknown value type ${describeValue(t)}`)
  }
  // One object literal per shape (no spread of a first one into a second): a hit with meta built two.
  if (m === undefined || m === null) return { value, createdAt: c.getTime(), expiresAt }
  return { value, createdAt: c.getTime(), expiresAt, meta: parseMeta(m) }
}

// The meta of every async function's entry without a timeline (core's PROMISE_META), so of most hits.
const PROMISE_META_JSON = '{"promise":true}'

function parseMeta(m: unknown): EntryMeta {
  // Read without JSON.parse, which cost a third of decoding a hit's document besides the value's own parse. A new
  // object each time, as JSON.parse returns (documents.property.test.ts checks the two agree).
  if (m === PROMISE_META_JSON) return { promise: true }
  let meta: unknown
  try {
    meta = typeof m === 'string' ? JSON.parse(m) : undefined
  } catch (error) {
    throw new CodecError('corrupt mongodb document: meta field m is not JSON', { cause: error })
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new CodecError('corrupt mongodb document: meta field m is not the JSON text of an object')
  }
  return meta as EntryMeta
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
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&').replace(/\0/g, '\\x00')
}

/** The `code` of a driver error (11000 for a duplicate key). */
export function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
}
