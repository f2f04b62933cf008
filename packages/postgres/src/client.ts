/**
 * The parts of node-postgres memokit calls, typed structurally so that a pool or client from any copy of `pg`
 * (8.x) is accepted, and how one query runs on either within a deadline. No SQL here.
 */

import { cancelOnServer, type PgCancelTarget } from './cancel'
import type { Deadline } from './deadline'

/** What a query answers: the rows (objects keyed by column name) and how many rows the command touched. */
export interface PgQueryResultLike {
  readonly rows: readonly Record<string, unknown>[]
  readonly rowCount: number | null
}

/** A parameterized query as memokit sends it. */
export interface PgQuery {
  readonly text: string
  readonly values?: readonly unknown[]
}

/** A connection: `pg.Client`, or a client checked out of a `pg.Pool`. */
export interface PgClientLike {
  query(config: PgQuery): Promise<PgQueryResultLike>
}

/** A client checked out of a pool (`pg.PoolClient`): `release(true)` destroys it instead of returning it. */
export interface PgPoolClientLike extends PgClientLike, PgCancelTarget {
  release(destroy?: boolean | Error): void
  /** Listens for a lost connection while the client is checked out (pg emits `'error'` on it). */
  on?(event: 'error', listener: (error: Error) => void): unknown
  removeListener?(event: 'error', listener: (error: Error) => void): unknown
}

/** A pool (`pg.Pool`): memokit checks a client out per operation and returns it right after. */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>
}

/** Runs one query within the caller's deadline. */
export type Execute = (query: PgQuery, deadline: Deadline) => Promise<PgQueryResultLike>

/** The error an abandoned query rejects with (nobody sees it: the caller already got its timeout). */
const abandoned = (): Error => new Error('operation abandoned after its timeout')

/**
 * Queries through a pool. A query still running when its deadline passes is cancelled on the server, and its
 * connection is destroyed if the server has not ended it `graceMs` later: a hung server would otherwise hold the
 * pool's connections one by one until no call gets any. The query's own promise settles only when the server has
 * ended the statement (or its connection is gone), so a write that timed out is still tracked until then (storage.ts
 * orders deletes after it): destroyed at once, it could commit after a later delete had resolved. A cancelled
 * connection goes back to the pool only once the server has acted on the cancel. A connection checked out after
 * the deadline goes back unused, so a command that missed its deadline is never sent.
 */
export function poolExecute(pool: PgPoolLike, graceMs: number): Execute {
  return async (query, deadline) => {
    const client = await pool.connect()
    let released = false
    let broken = false
    // node-postgres emits 'error' on a checked-out client whose connection dies, and an 'error' nobody listens
    // to crashes the process: listen until the pool (which listens to idle clients) has it back.
    const onError = (): void => {
      broken = true
    }
    client.on?.('error', onError)
    const release = (destroy: boolean): void => {
      if (released) return
      released = true
      client.removeListener?.('error', onError)
      client.release(destroy || broken)
    }
    if (deadline.expired) {
      release(false)
      throw abandoned()
    }
    let grace: ReturnType<typeof setTimeout> | undefined
    let cancel: Promise<boolean> | undefined
    deadline.onExpire = () => {
      cancel = cancelOnServer(client, graceMs)
      if (cancel === undefined) return release(true)
      grace = setTimeout(() => release(true), graceMs)
      grace.unref?.()
    }
    let failed = false
    try {
      return await client.query(query)
    } catch (error) {
      // A server's answer (a DatabaseError has a severity) leaves the connection usable; anything else may not.
      failed = typeof (error as { severity?: unknown })?.severity !== 'string'
      throw error
    } finally {
      clearTimeout(grace)
      deadline.onExpire = undefined
      // A cancel the server has not acted on yet would end whatever runs next on this connection (the user's own
      // query, through their pool): the connection goes back once the server acted on it, or not at all.
      if (cancel === undefined || failed) release(failed)
      else void cancel.then((acted) => release(!acted))
    }
  }
}

/**
 * Queries through one client, one at a time: node-postgres 8 queues a query sent while another runs (with a
 * deprecation warning), and pg 9 drops that queue. A query stuck on a hung server blocks the ones behind it; each
 * caller still gets its timeout, and a query whose deadline passed while it waited is never sent. The client is the
 * user's: never ended here.
 */
export function clientExecute(client: PgClientLike): Execute {
  let running = 0
  let last: Promise<unknown> = Promise.resolve()
  const done = (): void => {
    running--
  }
  return (query, deadline) => {
    if (deadline.expired) return Promise.reject(abandoned())
    // Nothing running (the usual case): sent at once, without waiting for a turn of the event loop.
    const sent =
      running === 0
        ? client.query(query)
        : last.then(() => (deadline.expired ? Promise.reject(abandoned()) : client.query(query)))
    running++
    last = sent.then(done, done)
    return sent
  }
}
