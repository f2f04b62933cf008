/**
 * The lease members on MongoDB. A lease lives in its entry's own document, as `l` (token) and `le` (lease expiry
 * Date), so every lease operation is one conditional write on one document, which MongoDB applies atomically.
 * A lease taken on a key without a live entry makes a document without `c` (no entry, `get` misses) whose `e` is
 * the lease expiry, so the TTL index removes it once the lease lapses; `delete` and `clear` remove documents, and
 * leases with them.
 *
 * Held over a live entry, the lease keeps the entry's `e`: MongoDB's TTL monitor may then remove the document,
 * lease included, once the entry expires (the holder's `setIfLeased` returns `false`: a recompute, never a stale
 * write).
 */
import { dateAfter, isLive, type MongoCollectionLike, type MongoDocument } from './documents'
import { retryOnDuplicate } from './entry-writes'

// The fields that tell whether the document holds a live entry and a live lease.
const LEASE_PROJECTION = { _id: 0, c: 1, e: 1, le: 1 }

const leaseLive = (doc: MongoDocument, now: number): boolean => doc.le instanceof Date && doc.le.getTime() > now

/** The document of `filter`'s key while its lease is live and holds `token`. */
const heldBy = (filter: MongoDocument, token: string, now: number): MongoDocument => ({
  ...filter,
  l: token,
  le: { $gt: new Date(now) },
})

/** A filter condition: `field` is as `doc` had it (absent when it was absent). */
const asRead = (doc: MongoDocument, field: string): MongoDocument => ({
  [field]: doc[field] === undefined ? { $exists: false } : doc[field],
})

/**
 * `acquireLease`: takes the lease for `ttl` ms unless a live one is held; `true` when this call took it. One
 * upsert when the key has no document; else a read-then-conditional-update, refused (`false`) when the document
 * changed in between, or when it holds a live entry written since `now` (the call's start).
 */
export async function acquireLease(
  col: MongoCollectionLike,
  filter: MongoDocument,
  token: string,
  ttl: number,
  now: number,
): Promise<boolean> {
  const le = dateAfter(now, ttl)
  const insertIfAbsent = () =>
    col.findOneAndUpdate(
      filter,
      { $setOnInsert: { l: token, le, e: le } },
      { upsert: true, returnDocument: 'before', projection: LEASE_PROJECTION },
    )
  const before = await retryOnDuplicate(insertIfAbsent)
  if (before === null) return true
  if (leaseLive(before, now)) return false
  const live = isLive(before, now)
  // An entry written after this call began comes from whoever computed the value this lease would be for (most
  // likely under a lease it held during this call). The caller reads it instead of recomputing.
  if (live && before.c instanceof Date && before.c.getTime() > now) return false
  // The update applies only while the entry and the lease are still as read, so of concurrent callers exactly one
  // takes the lease. When they changed, someone acted on the key in between (took the lease, wrote the entry,
  // removed the document): this caller did not take it and polls as it would behind a holder. Trying again could
  // take a lease whose winner already ended it with its write, and compute once more.
  const unchanged = { ...filter, ...asRead(before, 'c'), ...asRead(before, 'le') }
  const taken = live
    ? await col.updateOne(
        { ...unchanged, $or: [{ e: null }, { e: { $gt: new Date(now) } }] },
        { $set: { l: token, le } },
      )
    : // No live entry: the document becomes a lease alone, expiring with the lease (a dead entry stays dead).
      await col.updateOne(unchanged, { $set: { l: token, le, e: le }, $unset: { v: '', t: '', m: '', c: '' } })
  return taken.matchedCount === 1
}

/** `releaseLease`: removes the lease while it is live and holds `token`; `true` when it did. */
export async function releaseLease(
  col: MongoCollectionLike,
  filter: MongoDocument,
  token: string,
  now: number,
): Promise<boolean> {
  const held = heldBy(filter, token, now)
  // A lease alone goes with its document; beside an entry, only the lease fields go.
  const removed = await col.deleteOne({ ...held, c: { $exists: false } })
  if (removed.deletedCount === 1) return true
  const updated = await col.updateOne({ ...held, c: { $exists: true } }, { $unset: { l: '', le: '' } })
  return updated.matchedCount === 1
}

/** `extendLease`: moves the lease's expiry to `now + ttl` while it is live and holds `token`. */
export async function extendLease(
  col: MongoCollectionLike,
  filter: MongoDocument,
  token: string,
  ttl: number,
  now: number,
): Promise<boolean> {
  const held = heldBy(filter, token, now)
  const le = dateAfter(now, ttl)
  // A lease alone: its document must now expire with it too.
  const alone = await col.updateOne({ ...held, c: { $exists: false } }, { $set: { le, e: le } })
  if (alone.matchedCount === 1) return true
  const beside = await col.updateOne({ ...held, c: { $exists: true } }, { $set: { le } })
  return beside.matchedCount === 1
}

/**
 * `setIfLeased`: replaces the document with the entry `fields` (dropping the lease) while the lease is live and
 * holds `token`: one conditional write, so a `delete`, `clear` or lapse before it makes it write nothing.
 */
export async function setIfLeased(
  col: MongoCollectionLike,
  filter: MongoDocument,
  fields: MongoDocument,
  token: string,
  now: number,
): Promise<boolean> {
  const replaced = await col.replaceOne(heldBy(filter, token, now), { ...filter, ...fields }, { upsert: false })
  return replaced.matchedCount === 1
}
