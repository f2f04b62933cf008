import type { Codec, Entry } from '@memokit/core'
import { decodeDocument, type MongoCollectionLike, type MongoDocument, VALUE_PROJECTION } from './documents'

// The value fields plus the key, to put each document back at the positions that asked for it.
const MANY_PROJECTION = { ...VALUE_PROJECTION, k: 1 }

/**
 * `getMany`'s one query: `{ k: { $in: keys }, ns, p }`, which the unique { p, ns, k } index answers. The key comes
 * first for the reason `get`'s filter names it first (storage.ts): a server testing fields in order rejects the
 * other documents at once.
 */
export function findMany(col: MongoCollectionLike, filter: MongoDocument, keys: readonly string[]) {
  return col.find({ k: { $in: [...new Set(keys)] }, ...filter }, { projection: MANY_PROJECTION }).toArray()
}

/** The documents found, decoded as `get` decodes them (expired -> undefined, corrupt -> CodecError), in `keys` order. */
export function inOrder(docs: readonly MongoDocument[], keys: readonly string[], codec: Codec): (Entry | undefined)[] {
  const byKey = new Map<unknown, MongoDocument>()
  for (const doc of docs) byKey.set(doc.k, doc)
  return keys.map((key) => {
    const doc = byKey.get(key)
    return doc === undefined ? undefined : decodeDocument(doc, codec)
  })
}
