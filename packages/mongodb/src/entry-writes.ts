/**
 * How `set` and `add` write an entry into its document. Both keep a lease held on the key: a write isn't an
 * invalidation, so it must not fence out the computation holding the lease.
 */
import {
  codeOf,
  EXPIRY_PROJECTION,
  isLive,
  type MongoCollectionLike,
  type MongoDocument,
  OPTIONAL_ENTRY_FIELDS,
} from './documents'

const DUPLICATE_KEY = 11000

/**
 * Runs an upsert again once when it lost a race to insert the same key: the loser hits the unique index (servers
 * since 4.2 retry this themselves; this covers older ones and the remaining cases). The second attempt matches.
 */
export async function retryOnDuplicate<T>(upsert: () => Promise<T>): Promise<T> {
  try {
    return await upsert()
  } catch (error) {
    if (codeOf(error) !== DUPLICATE_KEY) throw error
    return upsert()
  }
}

/**
 * The update that writes an entry's `fields` into its document: `$set` of them and `$unset` of the optional entry
 * fields they lack (an earlier entry's expiry, byte type or meta must not survive), leaving the lease fields alone.
 */
export function entryUpdate(fields: MongoDocument): MongoDocument {
  const unset: Record<string, ''> = {}
  for (const name of OPTIONAL_ENTRY_FIELDS) if (!(name in fields)) unset[name] = ''
  // An empty $unset is an error on some servers.
  return Object.keys(unset).length === 0 ? { $set: fields } : { $set: fields, $unset: unset }
}

/** `set`: writes (or overwrites) the entry of `filter`'s key, in one upsert. */
export async function writeEntry(
  col: MongoCollectionLike,
  filter: MongoDocument,
  fields: MongoDocument,
): Promise<void> {
  const update = entryUpdate(fields)
  await retryOnDuplicate(() => col.updateOne(filter, update, { upsert: true }))
}

/** A filter condition: the document holds no live entry at `now` (none at all, or an expired one). */
export const entryDead = (now: Date): MongoDocument => ({ $or: [{ c: { $exists: false } }, { e: { $lte: now } }] })

/**
 * Insert-if-absent in one atomic step: `$setOnInsert` leaves an existing document untouched, and the unique index
 * makes concurrent upserts of one key produce exactly one insert. An expired entry, or a lease alone, counts as
 * absent.
 */
export async function addIfAbsent(
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
  // A second round covers the document vanishing between the two steps (TTL monitor, a delete or clear): the key
  // is then absent and inserting is right. A concurrent winner shows up as live instead.
  for (let round = 0; round < 2; round++) {
    const before = await retryOnDuplicate(insertIfAbsent)
    if (before === null) return true
    if (isLive(before, now)) return false
    // An expired entry the TTL monitor hasn't removed yet, or a lease alone: write only while there is still no
    // live entry, so of several concurrent callers exactly one wins (the winner's write makes the entry live).
    const dead = { ...filter, ...entryDead(new Date(now)) }
    const written = await col.updateOne(dead, entryUpdate(fields), { upsert: false })
    if (written.matchedCount === 1) return true
  }
  return false
}
