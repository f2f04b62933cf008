import { messageOf } from '@memokit/core/backend'

/**
 * What a client's terse failure means for the caller, appended to the StorageError's message: node-redis' and
 * ioredis' wordings for "disconnected" and "closed for good". `owned`: memokit built the client from `url`;
 * `lastError`: the owned client's last connection error, which explains an "offline" failure.
 */
export function hint(error: unknown, owned: boolean, clientIsOpen: boolean, lastError: unknown): string | undefined {
  const message = messageOf(error)
  if (message === 'The client is offline') {
    const last = lastError === undefined ? '' : `; last connection error: ${messageOf(lastError)}`
    return `disconnected, reconnecting in the background${last}`
  }
  if (message === 'The client is closed' && !owned) {
    return 'your client is closed: its owner closed it, or its reconnectStrategy gave up'
  }
  // ioredis' wording: the same message for a connection that dropped (it reconnects) and a client that ended.
  if (message === 'Connection is closed.' && !owned) {
    return clientIsOpen
      ? 'not connected; ioredis reconnects in the background'
      : 'your client is closed: its owner disconnected it, or its retryStrategy gave up'
  }
  if (message.endsWith('enableOfflineQueue options is false')) {
    return 'disconnected (your client has enableOfflineQueue: false); ioredis reconnects in the background'
  }
  return undefined
}
