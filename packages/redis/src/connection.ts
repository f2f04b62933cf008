import { ConfigError, StorageError, type StorageOp } from '@memokit/core'
import { messageOf, storageFailure } from '@memokit/core/backend'
import { createClient } from 'redis'
import type { OwnedClient, RedisCompatibleClient } from './client'
import { createDeadlineQueue } from './deadlines'
import type { Location } from './locate'

/** The storage's side of one client: connecting, bounding, tracking what is in flight, closing. */
export interface Connection {
  /** Runs one storage operation: rejects at once after `close()`, and `close()` waits for it. */
  track<T>(op: StorageOp, work: () => Promise<T>): Promise<T>
  /** Sends one command, waiting (bounded) for the first connect; wraps failures into StorageErrors. */
  run<T>(op: StorageOp, command: (client: RedisCompatibleClient) => Promise<T>): Promise<T>
  /** Bounds work that doesn't go through `run` (a SCAN step) by `operationTimeoutMs`. */
  bounded<T>(op: StorageOp, work: PromiseLike<T> | T): Promise<T>
  /** Waits for the operations in flight, then closes a client memokit created (a user's client stays open). */
  close(): Promise<void>
}

const NAME = 'redis'
// Commands a client built from `url` keeps waiting for replies: against a hung server, timed-out commands stay in
// node-redis' queue until the connection drops, so the cap bounds memory; past it, calls fail at once.
const MAX_PENDING_COMMANDS = 10_000
// Reconnect backoff of a client built from `url`: 50, 100, 200, ... ms, capped at 1 s, plus jitter. Also how long
// after its last operation a storage counts as idle, and how often a client closed for good is connected again.
const RECONNECT_MAX_DELAY_MS = 1000

/** Creates the client for `url` (not connected); `reconnect` decides each reconnect like node-redis' strategy. */
export function createOwnedClient(
  url: string,
  operationTimeoutMs: number,
  reconnect: (retries: number) => number | Error,
): OwnedClient {
  try {
    return createClient({
      url,
      // Without this, commands issued while disconnected wait in memory until the server is back.
      disableOfflineQueue: true,
      commandsQueueMaxLength: MAX_PENDING_COMMANDS,
      // Every operation is bounded by our own deadline queue; node-redis' per-command AbortSignal timer would
      // double that work and costs more than the round trip itself on a hit (bench R1).
      commandOptions: { timeout: 0 },
      socket: { connectTimeout: Math.max(operationTimeoutMs, 1000), reconnectStrategy: reconnect },
    }) as unknown as OwnedClient
  } catch (error) {
    // node-redis' message may quote the URL, password included: keep it only as the cause.
    throw new ConfigError('url', 'url is not a valid Redis URL (redis[s]://[[user][:password]@]host[:port][/db])', {
      cause: error,
    })
  }
}

/** A standalone node-redis client (`createClient`): the only kind whose command options memokit overrides. */
interface StandaloneClient extends RedisCompatibleClient {
  readonly isReady: boolean
  withCommandOptions(options: { timeout: number }): RedisCompatibleClient
}

/**
 * The same client without node-redis' own per-command timer (`commandOptions.timeout`, 5 s by default), for a user's
 * standalone node-redis client; `undefined` for any other kind. memokit bounds every operation itself
 * (operationTimeoutMs), and that timer (an AbortSignal.timeout per command, which keeps each command's closures alive
 * until it fires) cost more than the rest of a hit (bench R1, "own client"). `withCommandOptions` keeps the client's
 * other options (typeMapping) and shares its connection.
 */
function untimed(client: RedisCompatibleClient): RedisCompatibleClient | undefined {
  const c = client as Partial<StandaloneClient>
  const standalone =
    typeof c.withCommandOptions === 'function' &&
    typeof c.isReady === 'boolean' &&
    c.masters === undefined &&
    typeof c.acquire !== 'function'
  return standalone ? (c as StandaloneClient).withCommandOptions({ timeout: 0 }) : undefined
}

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
  let inflight = 0
  let lastUsedAt = Number.NEGATIVE_INFINITY
  let closed = false
  // Set when an idle owned client gave up reconnecting: the next operation waits for a fresh connect.
  let dormant = false
  let lastError: unknown
  const drained: (() => void)[] = []

  const reconnect = (retries: number): number | Error => {
    if (closed || (inflight === 0 && performance.now() - lastUsedAt >= RECONNECT_MAX_DELAY_MS)) {
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
  const location = locate(client)
  // An owned client must have an 'error' listener, or node-redis' reconnect errors would crash the process. The
  // errors reach callers as StorageErrors of the commands they break; the last one explains "offline" ones.
  owned?.on('error', (error) => {
    lastError = error
  })

  // Until the first connect settles, operations wait for it (bounded); afterwards they go straight to the client,
  // which rejects at once while disconnected (owned client) or is bounded by our timer (user's client).
  let gateOpen = owned === undefined && client.isOpen
  let gate: Promise<void> | undefined
  let connecting: Promise<void> | undefined
  // Once a user's client has been open, its lifecycle is the user's: if it is closed later, we don't reopen it.
  let userClientWasOpen = gateOpen
  let lastConnectAt = Number.NEGATIVE_INFINITY

  const hint = (error: unknown): string | undefined => {
    const message = messageOf(error)
    if (message === 'The client is offline') {
      const last = lastError === undefined ? '' : `; last connection error: ${messageOf(lastError)}`
      return `disconnected, reconnecting in the background${last}`
    }
    if (message === 'The client is closed' && owned === undefined) {
      return 'your client is closed: its owner closed it, or its reconnectStrategy gave up'
    }
    // ioredis' wording: the same message for a connection that dropped (it reconnects) and a client that ended.
    if (message === 'Connection is closed.' && owned === undefined) {
      return client.isOpen
        ? 'not connected; ioredis reconnects in the background'
        : 'your client is closed: its owner disconnected it, or its retryStrategy gave up'
    }
    if (message.endsWith('enableOfflineQueue options is false')) {
      return 'disconnected (your client has enableOfflineQueue: false); ioredis reconnects in the background'
    }
    return undefined
  }
  const fail = (op: StorageOp, error: unknown): StorageError =>
    storageFailure(NAME, op, location.where(), error, hint(error))

  // Races the work with a timer. A late reply is ignored: the promise is already settled, and the work's own
  // rejection is handled here, so nothing leaks as an unhandled rejection.
  const deadlines = createDeadlineQueue(operationTimeoutMs)
  const bounded = <T>(op: StorageOp, work: PromiseLike<T> | T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const deadline = deadlines.add(() => {
        reject(
          new StorageError(
            `redis ${op} on ${location.where()} timed out after ${operationTimeoutMs} ms (operationTimeoutMs): the server is slow, hung or unreachable`,
            { storage: NAME, op },
          ),
        )
      })
      Promise.resolve(work).then(
        (value) => {
          deadlines.settle(deadline)
          resolve(value)
        },
        (error: unknown) => {
          deadlines.settle(deadline)
          reject(fail(op, error))
        },
      )
    })

  const startConnect = (): Promise<void> => {
    if (connecting) return connecting
    lastConnectAt = Date.now()
    let attempt: Promise<unknown>
    try {
      attempt = client.connect()
    } catch (error) {
      attempt = Promise.reject(error)
    }
    connecting = attempt.then(
      () => {
        connecting = undefined
        lastError = undefined
        if (!owned) userClientWasOpen = true
      },
      (error: unknown) => {
        connecting = undefined
        throw error
      },
    )
    return connecting
  }

  // Resolves when the first connect succeeds; an owned client also rejects on its first connection error, so a
  // server that is down at start makes calls fail at once instead of after the timeout.
  const openGate = (): Promise<void> => {
    if (gate) return gate
    gate = new Promise<void>((resolve, reject) => {
      if (client.isOpen && owned === undefined) {
        userClientWasOpen = true
        return resolve()
      }
      if (owned) {
        const onReady = (): void => {
          owned.off('error', onError)
          resolve()
        }
        const onError = (error: unknown): void => {
          owned.off('ready', onReady)
          reject(error)
        }
        owned.once('ready', onReady)
        owned.once('error', onError)
      }
      startConnect().then(resolve, reject)
    })
    const opened = (): void => {
      gateOpen = true
    }
    gate.then(opened, opened)
    return gate
  }

  const run = <T>(op: StorageOp, command: (c: RedisCompatibleClient) => Promise<T>): Promise<T> => {
    if (dormant) {
      dormant = false
      gate = undefined
      gateOpen = false
    }
    if (gateOpen) {
      // A client is closed for good when its connect fails (e.g. a cluster with no reachable root node, or a
      // reconnect strategy that gives up): try again in the background, at most once per backoff interval, so
      // caching comes back with the server. Never for a user's client that was open before: they closed it.
      if (
        !client.isOpen &&
        !connecting &&
        (owned || !userClientWasOpen) &&
        Date.now() - lastConnectAt >= RECONNECT_MAX_DELAY_MS
      ) {
        startConnect().catch(() => {})
      }
      let work: Promise<T>
      try {
        work = command(fast !== undefined && (client as StandaloneClient).isReady ? fast : client)
      } catch (error) {
        work = Promise.reject(error)
      }
      return bounded(op, work)
    }
    return bounded(
      op,
      openGate().then(() => command(client)),
    ).catch((error: unknown) => {
      // Stop waiting for a connect that outlives the timeout: later calls fail fast instead of waiting again.
      gateOpen = true
      throw error
    })
  }

  const settle = (): void => {
    lastUsedAt = performance.now()
    if (--inflight > 0) return
    // Idle: the socket no longer keeps the process alive (node-redis keeps it unref'd across reconnects).
    owned?.unref()
    for (const resolve of drained.splice(0)) resolve()
  }

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
    if (closed) {
      return Promise.reject(
        new StorageError(`redis ${op} after close(): this storage is closed`, { storage: NAME, op }),
      )
    }
    if (inflight++ === 0) owned?.ref()
    lastUsedAt = performance.now()
    let result: Promise<T>
    try {
      result = work()
    } catch (error) {
      result = Promise.reject(error)
    }
    return result.then(settled, failed)
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closed = true
    closing ??= (async () => {
      // Operations issued before close() finish first, also those still waiting for the first connect.
      if (inflight > 0) await new Promise<void>((resolve) => drained.push(resolve))
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

  return { connection: { track, run, bounded, close }, client, location }
}
