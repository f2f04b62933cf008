/**
 * The node-redis client a storage or bus builds itself from a `url`: no offline queue, a cap on pending commands,
 * no per-command timer (memokit bounds every operation itself), and the caller's reconnect strategy.
 */
import { ConfigError } from '@memokit/core'
import { createClient } from 'redis'
import type { OwnedClient } from './client'

// Commands a client built from `url` keeps waiting for replies: against a hung server, timed-out commands stay in
// node-redis' queue until the connection drops, so the cap bounds memory; past it, calls fail at once.
const MAX_PENDING_COMMANDS = 10_000
// Reconnect backoff of a client built from `url`: 50, 100, 200, ... ms, capped at 1 s, plus jitter. Also how long
// after its last operation a storage counts as idle, and how often a client closed for good is connected again.
export const RECONNECT_MAX_DELAY_MS = 1000

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
