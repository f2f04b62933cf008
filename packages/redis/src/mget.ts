import { CodecError } from '@memokit/core'
import type { Deadline } from '@memokit/core/backend'
import type { RedisCompatibleClient } from './client'
import { sendAgainWhileSlotMoves, sendWhileSlotMoves } from './slot-moves'
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
// client routes each to its master), the replies put back in the order asked. With `deadline`, an MGET refused
// while its slot moves is sent again (slot-moves.ts); without it (a client retrying TRYAGAIN itself), sent once.
export function mgetBySlot(
  c: RedisCompatibleClient,
  keys: string[],
  clientPrefix: string,
  deadline: Deadline | undefined,
): Promise<unknown[]> {
  const groups = groupBySlot(keys, clientPrefix)
  if (groups.length === 1) return sendWhileSlotMoves(mget, c, keys, deadline)
  return mgetGroups(c, keys, groups, deadline)
}

async function mgetGroups(
  c: RedisCompatibleClient,
  keys: string[],
  groups: number[][],
  deadline: Deadline | undefined,
): Promise<unknown[]> {
  const sent = groups.map((group) => mget(c, keysOf(keys, group)))
  let replies: unknown[][]
  try {
    replies = await Promise.all(sent)
  } catch (error) {
    if (deadline === undefined) throw error
    replies = await Promise.all(refusedAgain(sent, c, keys, groups, deadline))
  }
  const ordered = new Array<unknown>(keys.length)
  for (const [g, group] of groups.entries()) {
    const groupReplies = repliesFor(replies[g], group.length)
    for (const [j, position] of group.entries()) ordered[position] = groupReplies[j]
  }
  return ordered
}

function keysOf(keys: string[], group: number[]): string[] {
  return group.map((i) => keys[i] as string)
}

// Promise.all failed at the first failure, and the other slots' MGETs may still be in flight: each is awaited again,
// and those refused while their slot moves are sent again. Apart from mgetGroups, whose answered call it would cost
// the variables its closures capture.
function refusedAgain(
  sent: Promise<unknown[]>[],
  c: RedisCompatibleClient,
  keys: string[],
  groups: number[][],
  deadline: Deadline,
): Promise<unknown[]>[] {
  return sent.map((reply, g) =>
    reply.catch((refusal: unknown) =>
      sendAgainWhileSlotMoves(refusal, mget, c, keysOf(keys, groups[g] as number[]), deadline),
    ),
  )
}
