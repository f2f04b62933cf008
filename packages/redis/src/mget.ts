import { CodecError } from '@memokit/core'
import type { RedisCompatibleClient } from './client'
import { groupBySlot } from './slots'

/** `MGET`, or concurrent GETs on a client without it. */
export function mget(c: RedisCompatibleClient, keys: string[]): Promise<unknown[]> {
  return c.mGet === undefined ? Promise.all(keys.map((k) => c.get(k))) : c.mGet(keys)
}

/**
 * An MGET's replies, checked to be one per key asked: a proxy or another server answering with something else
 * would otherwise shift entries onto other keys (tags read their tokens this way) or fail with a TypeError.
 */
export function repliesFor(reply: unknown, count: number): unknown[] {
  if (Array.isArray(reply) && reply.length === count) return reply
  throw new CodecError(
    `Corrupt codec payload: Redis answered an MGET of ${count} keys with ${Array.isArray(reply) ? `${reply.length} replies` : typeof reply}.`,
  )
}

// A cluster answers an MGET only for keys of one slot (else CROSSSLOT): one MGET per slot, all sent at once (the
// client routes each to its master), the replies put back in the order asked.
export async function mgetBySlot(c: RedisCompatibleClient, keys: string[], clientPrefix: string): Promise<unknown[]> {
  const groups = groupBySlot(keys, clientPrefix)
  if (groups.length === 1) return mget(c, keys)
  const replies = await Promise.all(
    groups.map((group) =>
      mget(
        c,
        group.map((i) => keys[i] as string),
      ),
    ),
  )
  const ordered = new Array<unknown>(keys.length)
  for (const [g, group] of groups.entries()) {
    const groupReplies = repliesFor(replies[g], group.length)
    for (const [j, position] of group.entries()) ordered[position] = groupReplies[j]
  }
  return ordered
}
