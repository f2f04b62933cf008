/**
 * How the bus opens and closes the node-redis connections it uses (bus-links.ts): one connect at a time per client,
 * awaited by close() when the bus started it on your client, and a close that also stops a connect under way.
 */
// Reconnect backoff of the connections the bus owns: 50, 100, 200, ... ms, capped at 1 s, until closed.
export const reconnectDelay = (retries: number): number =>
  Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 50)

export interface Connector {
  /** Opens the client once unless open; a failed attempt may be retried by the next call. */
  (): Promise<void>
  /** Settles when the connect this connector started (if any) has: close() waits for it. */
  settled(): Promise<void>
}

export function connector(client: { readonly isOpen: boolean; connect(): Promise<unknown> }): Connector {
  let connecting: Promise<void> | undefined
  const open = (() => {
    if (client.isOpen && connecting === undefined) return Promise.resolve()
    connecting ??= client.connect().then(
      () => undefined,
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
