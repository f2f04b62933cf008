// The lease members of redisStorage, and `delete`, which removes an entry's lease with it. A lease is a key of its
// own beside the entry (lease-keys.ts), holding the token, with the lease's ttl as its PX. Each member is one
// command or one script, so it is atomic on the server and costs one round trip (but `delete` over an ioredis
// Cluster: two UNLINKs, see sendDelete; and `setIfLeased` is sent again while a slot's move refuses it, see
// runScript); on a Cluster the lease and its entry share a slot, so a script may touch both.
import { type SetOptions, StorageError, type StorageOp } from '@memokit/core'
import { checkLeaseToken, checkLeaseTtl, messageOf } from '@memokit/core/backend'
import type { RedisCommandClient, RedisKey } from './client'
import type { Connection } from './connection'
import { leaseKey } from './lease-keys'
import { DELETE, EXTEND, evalScript, RELEASE, type Script, SET_IF_LEASED } from './lua'
import { SLOT_MOVING, sendWhileSlotMoves } from './slot-moves'
import type { Order, WriteOrder } from './write-order'

/** An entry encoded as `set` writes it: the payload, and its PX in whole ms (`undefined`: no expiry). */
export interface EncodedEntry {
  readonly payload: string
  readonly px: number | undefined
}

/** What the lease members need from the storage that owns them. */
export interface LeaseContext {
  readonly connection: Pick<Connection, 'track' | 'run'>
  /** The client's keyPrefix: the slot of a lease key is computed with it. */
  readonly clientPrefix: string
  /** The entry's key as passed to the client (checked: throws a StorageError for a lone surrogate). */
  physicalKey(namespace: string, key: string, op: StorageOp): string
  /** Encodes an entry exactly as `set` does (same payload, createdAt, expiresAt, meta and PX). */
  encode(value: unknown, options: SetOptions | undefined): EncodedEntry
  /** Set for a client that may reorder commands: `delete` then follows the key's writes (write-order.ts). */
  readonly order: WriteOrder | undefined
  /**
   * The client retries TRYAGAIN itself (ClientAdapter.retriesTryAgain): `delete` sends single-key commands, and
   * `setIfLeased` leaves the retries to it.
   */
  readonly retriesTryAgain: boolean
}

/** The lease members and the lease-aware `delete` of a redisStorage. */
export interface LeaseMembers {
  acquireLease(namespace: string, key: string, token: string, ttl: number): Promise<boolean>
  releaseLease(namespace: string, key: string, token: string): Promise<boolean>
  extendLease(namespace: string, key: string, token: string, ttl: number): Promise<boolean>
  setIfLeased(namespace: string, key: string, value: unknown, token: string, options?: SetOptions): Promise<boolean>
  delete(namespace: string, key: string): Promise<boolean>
}

function checkToken(token: unknown): string {
  checkLeaseToken('redis', token)
  return token as string
}

// Whole ms, rounded up like an entry's PX: a lease never lapses before the time its holder was promised.
function leaseMs(ttl: unknown): number {
  checkLeaseTtl('redis', ttl)
  return Math.ceil(ttl as number)
}

// A script's 0 or 1: an integer, or its text under a client type mapping. Anything else (another script under the
// SHA, a proxy) is a StorageError, never read as "not held" or "nothing deleted" (an invalidation gone unnoticed).
function flag(op: StorageOp, reply: unknown): boolean {
  const text = typeof reply === 'number' ? String(reply) : Buffer.isBuffer(reply) ? reply.toString() : reply
  if (text === '0' || text === '1') return text === '1'
  const shown = typeof reply === 'string' ? JSON.stringify(reply.slice(0, 40)) : String(reply)
  throw new StorageError(`redis ${op}: the script answered ${shown}, not 0 or 1`, { storage: 'redis', op })
}

// The server refuses scripts: EVAL/EVALSHA renamed away (unknown command) or denied by an ACL ("NOPERM ... no
// permissions to run the 'evalsha' command"). Not an ACL refusing a key ("... to access one of the keys" / "a key"):
// scripts, fenced writes included, still run for the other keys, so delete must stay one.
const NO_SCRIPTING = /unknown command|NOPERM.*permissions to run/i

/** Builds the lease members over one storage's connection and key layout. */
export function leaseMembers(context: LeaseContext): LeaseMembers {
  const { connection, clientPrefix, physicalKey, encode, order, retriesTryAgain } = context
  const { track, run } = connection
  // Cleared when the server refuses scripts: `delete` then unlinks without one, so invalidation keeps working.
  let scripting = true
  const keysOf = (op: StorageOp, namespace: string, key: string): [entry: string, lease: Buffer] => {
    const entry = physicalKey(namespace, key, op)
    return [entry, leaseKey(entry, clientPrefix)]
  }

  // The delete of a key whose slot is moving, one key per command (each followed wherever it is): the lease first,
  // then the entry, one after the other. A fenced write landing before the lease's UNLINK wrote an entry that the
  // entry's UNLINK removes; one landing after it finds no lease and stores nothing. (Together, as without scripts
  // below, they could run in either order on two nodes.)
  const unlinkLeaseThenEntry = async (entry: string, lease: Buffer, after: Order | undefined): Promise<boolean> => {
    await run('delete', (c) => c.unlink(lease), after)
    return Number(await run('delete', (c) => c.unlink(entry))) > 0
  }
  // The same on a client that retries TRYAGAIN itself (an ioredis Cluster: ClientAdapter.retriesTryAgain), in place
  // of the script: the script would be retried there for as long as a slot moves, past the deadline. One deadline
  // for both commands; the entry's UNLINK answers 0 or 1 like the script. Two round trips instead of one, for a
  // delete only.
  const sendDelete = (c: RedisCommandClient, entry: string, lease: Buffer): Promise<unknown> =>
    retriesTryAgain ? c.unlink(lease).then(() => c.unlink(entry)) : evalScript(c, DELETE, [entry, lease], [])

  // setIfLeased's script names the entry and its lease, so while their slot moves a cluster refuses it with TRYAGAIN
  // unless both are on the node it reaches: for the whole move in the usual case (a miss being computed has a lease
  // and no entry yet), and each refusal was a StorageError counting towards the circuit breaker. TRYAGAIN means the
  // script did not run, and each attempt checks the lease anew (one after a delete finds none and stores nothing),
  // so it is sent again after a pause while the operation's deadline leaves time; then the last refusal is its one
  // error (slot-moves.ts). A client that retries TRYAGAIN itself (an ioredis Cluster) does so past our deadline:
  // left to it. The other members name one key, which a moving slot redirects (ASK) and never refuses.
  const runScript = (op: StorageOp, s: Script, keys: [string, Buffer], args: string[]): Promise<unknown> => {
    const send = (c: RedisCommandClient, k: RedisKey[]) => evalScript(c, s, k, args)
    return run(op, (c, deadline) => sendWhileSlotMoves(send, c, keys, retriesTryAgain ? undefined : deadline))
  }

  return {
    // SET NX PX: the lease exists exactly while someone holds it, so taking it is one command.
    acquireLease: (namespace, key, token, ttl) =>
      track('acquireLease', async () => {
        const op = 'acquireLease'
        const tok = checkToken(token)
        const px = leaseMs(ttl)
        const [, lease] = keysOf(op, namespace, key)
        const reply = await run(op, (c) =>
          c.set(lease, tok, { expiration: { type: 'PX', value: px }, condition: 'NX' }),
        )
        return reply !== null && reply !== undefined
      }),

    releaseLease: (namespace, key, token) =>
      track('releaseLease', async () => {
        const op = 'releaseLease'
        const tok = checkToken(token)
        const [, lease] = keysOf(op, namespace, key)
        return flag(op, await run(op, (c) => evalScript(c, RELEASE, [lease], [tok])))
      }),

    extendLease: (namespace, key, token, ttl) =>
      track('extendLease', async () => {
        const op = 'extendLease'
        const tok = checkToken(token)
        const px = leaseMs(ttl)
        const [, lease] = keysOf(op, namespace, key)
        return flag(op, await run(op, (c) => evalScript(c, EXTEND, [lease], [tok, String(px)])))
      }),

    setIfLeased: (namespace, key, value, token, options) =>
      track('setIfLeased', async () => {
        const op = 'setIfLeased'
        const tok = checkToken(token)
        const [entry, lease] = keysOf(op, namespace, key)
        const { payload, px } = encode(value, options)
        const args = [tok, payload, px === undefined ? '' : String(px)]
        return flag(op, await runScript(op, SET_IF_LEASED, [entry, lease], args))
      }),

    // Redis checks expiry on access, so an entry past its PX counts as absent (0).
    delete: (namespace, key) =>
      track('delete', async () => {
        const [entry, lease] = keysOf('delete', namespace, key)
        // Taken now, at its issue: the writes of the key issued before this delete (a pool or Sentinel client).
        const after = order?.afterKey(namespace, key)
        if (scripting) {
          let reply: unknown
          let refused = false
          try {
            reply = await run('delete', (c) => sendDelete(c, entry, lease), after)
          } catch (error) {
            const message = messageOf(error)
            if (SLOT_MOVING.test(message)) return unlinkLeaseThenEntry(entry, lease, after)
            if (!NO_SCRIPTING.test(message)) throw error
            refused = true
            scripting = false
          }
          if (!refused) return flag('delete', reply)
        }
        // Without scripts no fenced write can land (setIfLeased is a script), so two UNLINKs, sent together, do.
        const [removed] = await run('delete', (c) => Promise.all([c.unlink(entry), c.unlink(lease)]), after)
        return Number(removed) > 0
      }),
  }
}
