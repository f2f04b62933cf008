/**
 * How the bus opens and closes the node-redis connections it uses (bus-links.ts): one connect at a time per client,
 * awaited by close() when the bus started it on your client, and a close that also stops a connect under way.
 */
import { messageOf } from '@memokit/core/backend'

/**
 * Reconnect strategy of the connections the bus opens from `url`: never wait and retry. node-redis waits between
 * reconnects on a ref'd timer, so a bus whose server is unreachable would keep the process alive until `close()`.
 * Giving up closes the client instead (node-redis still emits 'error': the bus reports 'down'), and the bus connects
 * it again itself: the subscriber from its subscriptions' probes (unref'd timers, 50 ms backing off to 1 s), the
 * publisher at its next publish. The error carries the socket's message, so a failed connect says what happened.
 */
export const giveUpReconnecting = (_retries: number, cause?: unknown): Error => new Error(messageOf(cause), { cause })

export interface Connector {
  /** Opens the client once unless open; a failed attempt may be retried by the next call. */
  (): Promise<void>
  /** Settles when the connect this connector started (if any) has: close() waits for it. */
  settled(): Promise<void>
}

/**
 * The connect of `client`. `again`: a client whose reconnect strategy gave up after a successful connect is
 * connected again by the next call (the bus's own connections); otherwise it is connected at most once, and a
 * client the bus connected and that closed since (your client) stays closed.
 */
export function connector(client: { readonly isOpen: boolean; connect(): Promise<unknown> }, again = false): Connector {
  let connecting: Promise<void> | undefined
  const open = (() => {
    if (client.isOpen && connecting === undefined) return Promise.resolve()
    connecting ??= client.connect().then(
      () => {
        if (again) connecting = undefined
      },
      (error: unknown) => {
        connecting = undefined
        throw error
      },
    )
    return connecting
  }) as Connector
  // A node-redis client closed while a connect is under way resolves the close at once, and the connect then
  // completes anyway: a socket nobody will close, holding the process (your client, which the bus connected).
  open.settled = () => (connecting ?? Promise.resolve()).catch(() => {})
  return open
}

export async function closeQuietly(client: {
  close?(): Promise<unknown>
  destroy?(): unknown
  isOpen?: boolean
  isReady?: boolean
}) {
  try {
    // Connecting or reconnecting: node-redis' close() would resolve at once and let that connect finish, leaving a
    // socket open that holds the process; destroy() stops it.
    if (client.isOpen !== false && client.isReady === false && client.destroy !== undefined) await client.destroy()
    else if (client.isOpen !== false) await client.close?.()
  } catch {
    // A graceful QUIT can't finish on a dead server; dropping the socket releases the same resources.
    await client.destroy?.()
  }
}
