// While a Redis Cluster moves a slot (resharding), the migrating node refuses a command naming several keys of it
// with TRYAGAIN as long as they are split between the two nodes (some moved, some not), for the rest of the move in
// the usual case. memokit sends two such commands: setIfLeased's script (an entry and its lease) and getMany's MGET
// of one slot's keys (tagged reads fetch their tag tokens this way). TRYAGAIN means the command did not run, so it
// is sent again within the operation's deadline (Connection.run and read hand it over). Commands naming one key are
// redirected (ASK) instead, never refused.
import { setTimeout as sleep } from 'node:timers/promises'
import { type Deadline, messageOf } from '@memokit/core/backend'
import type { RedisCompatibleClient } from './client'

/** A cluster's refusal of a command whose keys a slot move has split between two nodes. */
export const SLOT_MOVING = /\bTRYAGAIN\b/

// Pauses before sending a command refused with TRYAGAIN again, in ms: the first short (a slot's keys move in a few
// ms each), then every 50 ms. An attempt is sent only with twice its pause left before the deadline (the pause, then
// as long for the attempt), so the last refusal, not an attempt cut off in flight, is what the caller sees.
const FIRST_PAUSE_MS = 25
const PAUSE_MS = 50

/**
 * Sends `command(c, arg)`, and again while a moving slot refuses it (TRYAGAIN) and `deadline` leaves time: after
 * 25 ms, then every 50 ms, each attempt only with twice its pause left. Resolves with the first answer; rejects with
 * the first failure that is not TRYAGAIN, or the last refusal. Without `deadline` (a client that retries TRYAGAIN
 * itself: ClientAdapter.retriesTryAgain), sends it once. A command answered at once costs one async call and no
 * closure: getMany's one-slot MGET, on a storage's hit path, goes through it (the loop is sendAgainWhileSlotMoves).
 */
export async function sendWhileSlotMoves<A, T>(
  command: (c: RedisCompatibleClient, arg: A) => Promise<T>,
  c: RedisCompatibleClient,
  arg: A,
  deadline: Deadline | undefined,
): Promise<T> {
  try {
    return await command(c, arg)
  } catch (refusal) {
    if (deadline === undefined) throw refusal
    return sendAgainWhileSlotMoves(refusal, command, c, arg, deadline)
  }
}

/**
 * The same after `command(c, arg)` failed with `refusal`, sent by the caller: rejects with it unless it is a TRYAGAIN
 * and `deadline` leaves time for another attempt.
 */
export async function sendAgainWhileSlotMoves<A, T>(
  refusal: unknown,
  command: (c: RedisCompatibleClient, arg: A) => Promise<T>,
  c: RedisCompatibleClient,
  arg: A,
  deadline: Deadline,
): Promise<T> {
  let error = refusal
  for (let pause = FIRST_PAUSE_MS; ; pause = PAUSE_MS) {
    if (!SLOT_MOVING.test(messageOf(error)) || performance.now() + 2 * pause > deadline.at) throw error
    await sleep(pause)
    try {
      return await command(c, arg)
    } catch (next) {
      error = next
    }
  }
}
