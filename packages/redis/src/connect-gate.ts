// Connecting a storage's client: the first connect that operations wait for (the gate), and the background
// reconnect of a client its own reconnect strategy gave up on. Off the hit path: connection.ts reads only its own
// `gateOpen` flag per command, which `opened` sets.
import type { OwnedClient, RedisCompatibleClient } from './client'
import { RECONNECT_MAX_DELAY_MS } from './owned-client'

/** The connect lifecycle of one storage's client. */
export interface ConnectGate {
  /**
   * Resolves once the first connect succeeded (at once for a user's client already open); an owned client also
   * rejects on its first connection error, so a server that is down at start fails calls at once. Made once, until
   * `reset`.
   */
  open(): Promise<void>
  /** Forgets the gate: the next operation waits for a fresh connect (an idle owned client stopped reconnecting). */
  reset(): void
  /**
   * A client closed for good when its connect failed (a cluster with no reachable root node, a reconnect strategy
   * that gave up) is connected again in the background, at most once per backoff interval, so caching comes back
   * with the server. Never a user's client that was open before: they closed it.
   */
  reviveIfClosed(): void
}

/**
 * The gate of `client` (`owned` when memokit built it from `url`). `opened` runs when a gate settles, either way
 * (operations then go straight to the client); `connected` after every successful connect.
 */
export function createConnectGate(
  client: RedisCompatibleClient,
  owned: OwnedClient | undefined,
  opened: () => void,
  connected: () => void,
): ConnectGate {
  let gate: Promise<void> | undefined
  let connecting: Promise<void> | undefined
  // Once a user's client has been open, its lifecycle is the user's: if it is closed later, we don't reopen it.
  let userClientWasOpen = owned === undefined && client.isOpen
  let lastConnectAt = Number.NEGATIVE_INFINITY

  const start = (): Promise<void> => {
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
        connected()
        if (!owned) userClientWasOpen = true
      },
      (error: unknown) => {
        connecting = undefined
        throw error
      },
    )
    return connecting
  }

  return {
    open() {
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
        start().then(resolve, reject)
      })
      gate.then(opened, opened)
      return gate
    },
    reset() {
      gate = undefined
    },
    reviveIfClosed() {
      if (client.isOpen || connecting || !(owned || !userClientWasOpen)) return
      if (Date.now() - lastConnectAt >= RECONNECT_MAX_DELAY_MS) start().catch(() => {})
    },
  }
}
