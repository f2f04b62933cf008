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
import { isLive, type MongoCollectionLike, type MongoDocument } from './documents'
import { entryDead, retryOnDuplicate } from './entry-writes'

// The fields that tell whether the document holds a live entry and a live lease.
const LEASE_PROJECTION = { _id: 0, c: 1, e: 1, le: 1 }
// Rounds of acquireLease against documents changing under it (a lease lapsing, an entry written or expiring).
const ACQUIRE_ROUNDS = 3

/** A filter condition: no live lease on the document at `now`. */
const leaseFree = (now: Date): MongoDocument => ({ $or: [{ le: { $exists: false } }, { le: { $lte: now } }] })

/** A filter condition: the document holds a live entry at `now` (`e` absent or null: it never expires). */
const entryLive = (now: Date): MongoDocument => ({ c: { $exists: true }, $or: [{ e: null }, { e: { $gt: now } }] })

const leaseLive = (doc: MongoDocument, now: number): boolean => doc.le instanceof Date && doc.le.getTime() > now

/** The document of `filter`'s key while its lease is live and holds `token`. */
const heldBy = (filter: MongoDocument, token: string, now: number): MongoDocument => ({
  ...filter,
  l: token,
  le: { $gt: new Date(now) },
})

/** `acquireLease`: takes the lease for `ttl` ms unless a live one is held; `true` when this call took it. */
export async function acquireLease(
  col: MongoCollectionLike,
  filter: MongoDocument,
  token: string,
  ttl: number,
  now: number,
): Promise<boolean> {
  const at = new Date(now)
  const le = new Date(now + ttl)
  const insertIfAbsent = () =>
    col.findOneAndUpdate(
      filter,
      { $setOnInsert: { l: token, le, e: le } },
      { upsert: true, returnDocument: 'before', projection: LEASE_PROJECTION },
    )
  for (let round = 0; round < ACQUIRE_ROUNDS; round++) {
    const before = await retryOnDuplicate(insertIfAbsent)
    if (before === null) return true
    if (leaseLive(before, now)) return false
    // The document is there without a live lease. Each update below applies only while the document is still in
    // the state it was read in, so of concurrent callers exactly one takes the lease; a change in between (the
    // entry expired or was written, the document removed) sends this caller round again.
    const taken = isLive(before, now)
      ? await col.updateOne({ ...filter, $and: [leaseFree(at), entryLive(at)] }, { $set: { l: token, le } })
      : // No live entry: the document becomes a lease alone, expiring with the lease (a dead entry stays dead).
        await col.updateOne(
          { ...filter, $and: [leaseFree(at), entryDead(at)] },
          { $set: { l: token, le, e: le }, $unset: { v: '', t: '', m: '', c: '' } },
        )
    if (taken.matchedCount === 1) return true
  }
  return false
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
  const le = new Date(now + ttl)
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
