/**
 * The indexes memokit keeps on its collection. Both are partial: they cover only memokit's documents (those with a
 * prefix and a namespace field), so other documents in the same collection neither count as duplicates of each
 * other in the unique index nor get deleted by the TTL index.
 */
import { messageOf } from '@memokit/core/backend'
import type { MongoCollectionLike, MongoDocument, MongoIndexSpec } from './documents'

/**
 * The fields every memokit document has. Every query memokit sends has equality on both, which implies
 * `$exists: true`, so the server can answer them from the partial indexes.
 */
const MEMOKIT_DOCUMENTS: MongoDocument = { p: { $exists: true }, ns: { $exists: true } }

// Names are fixed so that a second storage (or process) on the same collection finds the indexes already there.
// They differ from the names of the earlier, non-partial indexes (memokit_key, memokit_ttl): an index's options
// can't change under its name, and those stay until someone drops them (see README, "Indexes").
export const KEY_INDEX = 'memokit_key_v2'
export const TTL_INDEX = 'memokit_ttl_v2'
export const OLD_INDEXES = ['memokit_key', 'memokit_ttl'] as const

export const INDEX_SPECS: MongoIndexSpec[] = [
  { key: { p: 1, ns: 1, k: 1 }, name: KEY_INDEX, unique: true, partialFilterExpression: MEMOKIT_DOCUMENTS },
  // expireAfterSeconds 0: each document expires at its own `e`; documents without `e` never expire.
  { key: { e: 1 }, name: TTL_INDEX, expireAfterSeconds: 0, partialFilterExpression: MEMOKIT_DOCUMENTS },
]

/**
 * Creates the indexes (a no-op on the server when they exist with the same options). A failure fails every first
 * operation, so its message says how to get out of it.
 */
export async function ensureIndexes(col: MongoCollectionLike, database: string, collection: string): Promise<void> {
  try {
    await col.createIndexes(INDEX_SPECS)
  } catch (error) {
    throw new Error(
      `creating the indexes of ${database}.${collection} failed (${messageOf(error)}); drop a conflicting index on { p, ns, k } or { e } (servers before MongoDB 5.0 refuse a second index on the same keys, such as ${OLD_INDEXES.join(' or ')} left by an earlier memokit: db.getCollection(${JSON.stringify(collection)}).dropIndex(${JSON.stringify(OLD_INDEXES[0])})), or create the indexes yourself and pass createIndexes: false (see README)`,
      { cause: error },
    )
  }
}
