import { CodecError, StorageError, type StorageOp } from '@memokit/core'
import { createCloseGate, createDeadlineQueue, type Deadline, messageOf, storageFailure } from '@memokit/core/backend'
import type { Connection, ConnectionCommand, RedisCompatibleClient } from './client'

export type { Connection } from './client'

import { createConnectGate } from './connect-gate'
import { hint } from './hints'
import type { Location } from './locate'
import { mayHold, type StandaloneClient, untimed, withAbortSignal } from './node-redis'
import { createOwnedClient, RECONNECT_MAX_DELAY_MS } from './owned-client'
import { type ReadContext, settleRead } from './read'
import type { Order } from './write-order'

const NAME = 'redis'

// run's command as send takes it: made once, not per run.
const runCommand = <T>(
  c: RedisCompatibleClient,
  command: (c: RedisCompatibleClient, deadline: Deadline) => Promise<T>,
  deadline: Deadline,
): Promise<T> => command(c, deadline)

/**
 * Connects `client` lazily. An owned client (built from `url`) is ref'd only while an operation is in flight, so an
 * idle storage never keeps the process alive, and stops reconnecting once idle (the next operation connects again).
 */
export function createConnection(
  url: string | undefined,
  userClient: RedisCompatibleClient | undefined,
  operationTimeoutMs: number,
  locate: (client: RedisCompatibleClient) => Location,
): { connection: Connection; client: RedisCompatibleClient; location: Location } {
  let lastUsedAt = Number.NEGATIVE_INFINITY
  // Set when an idle owned client gave up reconnecting: the next operation waits for a fresh connect.
  let dormant = false
  let lastError: unknown
  // The hooks only run for an owned client (`owned` is assigned below, before any operation can start): a user's
  // client is theirs to ref, and only an owned client's reconnect reads lastUsedAt (no clock read per idle moment).
  const closeGate = createCloseGate(
    NAME,
    url === undefined
      ? undefined
      : {
          busy: () => owned?.ref(),
          idle: () => {
            // Only read while nothing is in flight (reconnect), so only the last operation to finish sets it.
            lastUsedAt = performance.now()
            // Idle: the socket no longer keeps the process alive (node-redis keeps it unref'd across reconnects).
            owned?.unref()
          },
        },
  )

  const reconnect = (retries: number): number | Error => {
    const closed = closeGate.isClosed()
    if (closed || (closeGate.inflight() === 0 && performance.now() - lastUsedAt >= RECONNECT_MAX_DELAY_MS)) {
      dormant = !closed
      return new Error('memokit: the storage is idle or closed; it connects again on its next operation')
    }
    return Math.min(50 * 2 ** retries, RECONNECT_MAX_DELAY_MS) + Math.floor(Math.random() * 50)
  }
  const owned = url !== undefined ? createOwnedClient(url, operationTimeoutMs, reconnect) : undefined
  const client: RedisCompatibleClient = owned ?? (userClient as RedisCompatibleClient)
  // Only while the client is ready: a command sent while it is disconnected may wait in its offline queue, where the
  // client's own timer is what removes it (memokit's deadline only stops waiting for it).
  const fast = owned === undefined ? untimed(client) : undefined
  // When a command sent now may be held by a user's client past our deadline (see run).
  const held = owned === undefined ? mayHold(client) : undefined
  const location = locate(client)
  // An owned client must have an 'error' listener, or node-redis' reconnect errors would crash the process. The
  // errors reach callers as StorageErrors of the commands they break; the last one explains "offline" ones.
  owned?.on('error', (error) => {
    lastError = error
  })

  // Until the first connect settles, operations wait for it (bounded); afterwards they go straight to the client,
  // which rejects at once while disconnected (owned client) or is bounded by our timer (user's client).
  let gateOpen = owned === undefined && client.isOpen
  const gate = createConnectGate(
    client,
    owned,
    () => {
      gateOpen = true
    },
    () => {
      lastError = undefined
    },
  )

  const fail = (op: StorageOp, error: unknown): StorageError | CodecError => {
    // A list, hash or set under an entry's key (someone else's data): foreign data, as a payload of another
    // format is, so a miss that the next write (SET replaces any type) overwrites, not a failing server that
    // counts towards the circuit breaker and leaves the key unwritable.
    if (op === 'get' && /^WRONGTYPE\b/.test(messageOf(error))) {
      return new CodecError(`redis get on ${location.where()}: the key holds no string value (${messageOf(error)})`)
    }
    return storageFailure(NAME, op, location.where(), error, hint(error, owned !== undefined, client.isOpen, lastError))
  }

  const deadlines = createDeadlineQueue(operationTimeoutMs)
  const timedOut = (op: StorageOp): StorageError =>
    new StorageError(
      `redis ${op} on ${location.where()} timed out after ${operationTimeoutMs} ms (operationTimeoutMs): the server is slow, hung or unreachable`,
      { storage: NAME, op },
    )
  // `start` gets the operation's deadline: run hands it to its command (slot-moves.ts sends again until it).
  const boundedStart = <T>(op: StorageOp, start: (deadline: Deadline) => PromiseLike<T> | T): Promise<T> =>
    deadlines.bound(
      start,
      () => timedOut(op),
      (error) => fail(op, error),
    )
  const bounded = <T>(op: StorageOp, work: PromiseLike<T> | T): Promise<T> => boundedStart(op, () => work)

  // Sends a command once the first connect has settled; `arg` spares a read its closure (Connection.read).
  const send = <A, T>(command: ConnectionCommand<A, T>, arg: A, deadline: Deadline): Promise<T> => {
    if (!client.isOpen) gate.reviveIfClosed()
    try {
      return command(fast !== undefined && (client as StandaloneClient).isReady ? fast : client, arg, deadline)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  // What read's bounding needs (read.ts): made once, not per operation.
  const context: ReadContext = { deadlines, settle: closeGate.leave, timedOut, fail, send }

  const run = <T>(
    op: StorageOp,
    command: (c: RedisCompatibleClient, deadline: Deadline) => Promise<T>,
    order?: Order,
  ): Promise<T> => {
    if (dormant) {
      dormant = false
      gate.reset()
      gateOpen = false
    }
    const after = order?.after
    if (gateOpen && after === undefined && (held === undefined || !held())) {
      return boundedStart(op, (deadline) => {
        const sent = send(runCommand, command, deadline)
        return order?.track?.(sent) ?? sent
      })
    }
    // A command whose wait (for the first connect, or for the writes it must follow) timed out is never
    // sent: its caller was told it failed, and the commands issued since, which the client queued meanwhile, would
    // go first, so a late write could undo a delete or a newer set.
    let late = false
    // A user's client may hold a command (a standalone or cluster node's offline queue while disconnected, Sentinel
    // waiting for its master, a pool for a member) for its own commandOptions.timeout (5 s by default), past our
    // deadline: a write its caller was told failed would land once the client reconnects, after a delete or clear
    // other processes made meanwhile. Such a command carries a signal our deadline aborts, and node-redis drops it
    // if it is still held then. (One already written to the socket stays ordered before this process's later
    // commands on that connection.)
    let abort: AbortController | undefined
    const lateFailure = (): StorageError => {
      late = true
      abort?.abort()
      return timedOut(op)
    }
    const started = (deadline: Deadline): Promise<T> => {
      const issue = (): Promise<T> => {
        if (late) return Promise.resolve(undefined as T)
        if (held === undefined || !held()) return command(client, deadline)
        abort = new AbortController()
        return command(withAbortSignal(client, abort.signal), deadline)
      }
      let work: Promise<T>
      if (gateOpen && after === undefined) {
        if (!client.isOpen) gate.reviveIfClosed()
        try {
          work = issue()
        } catch (error) {
          work = Promise.reject(error)
        }
      } else {
        const ready = after === undefined ? gate.open() : gateOpen ? after : gate.open().then(() => after)
        work = ready.then(issue)
      }
      order?.track?.(work)
      return work
    }
    return deadlines
      .bound(started, lateFailure, (error) => fail(op, error))
      .catch((error: unknown) => {
        // Stop waiting for a connect that outlives the timeout: later calls fail fast instead of waiting again.
        gateOpen = true
        throw error
      })
  }

  const settle = closeGate.leave
  // Made once: `finally` would allocate two closures and a second promise per operation.
  const settled = <T>(value: T): T => {
    settle()
    return value
  }
  const failed = (error: unknown): never => {
    settle()
    throw error
  }
  const track = <T>(op: StorageOp, work: () => Promise<T>): Promise<T> => {
    if (closeGate.isClosed()) return closeGate.refuse(op)
    closeGate.enter()
    let result: Promise<T>
    try {
      result = work()
    } catch (error) {
      result = Promise.reject(error)
    }
    return result.then(settled, failed)
  }

  const read = <A, T, R = T>(
    op: StorageOp,
    command: ConnectionCommand<A, unknown>,
    arg: A,
    decode: (reply: unknown) => T,
    onValue?: (value: T) => R,
    onError?: (error: unknown) => R,
  ): Promise<R> => {
    if (closeGate.isClosed() || dormant || !gateOpen) {
      const decoded = track(op, () => run(op, (c, deadline) => command(c, arg, deadline)).then(decode))
      return (onValue === undefined ? decoded : decoded.then(onValue, onError)) as Promise<R>
    }
    closeGate.enter()
    return settleRead(context, op, command, arg, decode, onValue, onError)
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    // Operations issued before close() finish first, also those still waiting for the first connect.
    const drained = closeGate.close()
    closing ??= (async () => {
      // Only when something is in flight: an idle storage's client starts closing within this call, not a turn later.
      if (closeGate.inflight() > 0) await drained
      if (!owned?.isOpen) return
      try {
        await bounded('close', owned.close())
      } catch {
        // A graceful QUIT can't finish on a dead or hung server; dropping the socket releases the same resources.
        owned.destroy()
      }
    })()
    return closing
  }

  return { connection: { track, run, read, bounded, close }, client, location }
}
