// Which clients may run one storage's commands in another order than they were sent, and how an operation is then
// ordered after the writes of the same storage (core's write tracker, as the postgres and mongodb storages use it).
//
// On one connection Redis runs commands in the order they were sent, so a `set` sent before a `delete` can never land
// after it. A client that spreads commands over several connections gives no such order: the server may read the
// delete's connection first, and the old value lands after the invalidation. For those clients `set` and `add` are
// tracked until their reply, and `delete` and `clear` are sent once the writes they remove have settled. So are a
// `set` and `add` after the key's own writes: a set that timed out for its caller but was still on its way would
// otherwise land after the newer value a `.refresh()` wrote next. Every other client pays nothing: no tracker is
// made, and no operation carries an Order.
//
// Lease writes need no tracking: `delete` and `clear` remove the lease, so a `setIfLeased` landing after them finds
// none and writes nothing; and a lease taken after them guards a computation that only starts once it is taken.
import { createWriteTracker } from '@memokit/core/backend'

/** How one operation is ordered against the writes of the same storage (Connection.run). */
export interface Order {
  /** Settles once the writes this operation must follow have settled; the command is sent after it. */
  readonly after?: Promise<void>
  /**
   * Tracks the write's command from its issue until the client has its reply (or gave up on it), not until the
   * operation's deadline: a write that timed out for its caller may still be on its way to the server, and an
   * invalidation issued next must still follow it. Returns `sent`.
   */
  readonly track?: <T>(sent: Promise<T>) => Promise<T>
}

/** The orders of one storage's operations, for a client that may reorder them ({@link reordersCommands}). */
export interface WriteOrder {
  /** A `set` or `add` of `namespace`/`key`: tracked, and sent after the key's writes already issued. */
  write(namespace: string, key: string): Order
  /** A `delete`: after the writes of the key already issued; `undefined` when none is in flight. */
  afterKey(namespace: string, key: string): Order | undefined
  /** A `clear`: after the writes already issued to the namespace (or to its keys starting with `keyPrefix`). */
  afterNamespace(namespace: string, keyPrefix: string | undefined): Order | undefined
}

/** A node-redis client pool (`createClientPool`, or a proxy of one such as `withTypeMapping`'s). */
export function isClientPool(client: object): boolean {
  return 'totalClients' in client
}

/** A node-redis Sentinel client (`createSentinel`): it leases master connections (`acquire`) and names its master. */
export function isSentinelClient(client: object): boolean {
  const c = client as { acquire?: unknown; getMasterNode?: unknown }
  return typeof c.acquire === 'function' && typeof c.getMasterNode === 'function'
}

/**
 * True for a client that may send two commands of one key over different connections:
 * - a node-redis pool: each command takes an idle connection, and holds it until its reply.
 * - a node-redis Sentinel client: commands issued together each lease a master connection, so with
 *   `masterPoolSize` > 1 they go out on different ones. node-redis keeps that size private, so every Sentinel
 *   client counts (the default of 1 then waits where it would have pipelined: rarely, only on an invalidation, or
 *   on a write of a key with a write in flight). Not a lease of one of its connections (`acquire()`): that is one connection.
 * Not a standalone client, nor a node-redis or ioredis Cluster (one connection per node, and a key's commands go to
 * its slot's master), nor an ioredis `Redis` (one connection, Sentinel too), nor a client memokit built from `url`.
 */
export function reordersCommands(client: unknown): boolean {
  if (typeof client !== 'object' || client === null) return false
  return isClientPool(client) || isSentinelClient(client)
}

/** The {@link WriteOrder} of a storage on `client`; `undefined` for a client that keeps commands in order. */
export function createWriteOrder(client: unknown): WriteOrder | undefined {
  if (!reordersCommands(client)) return undefined
  const writes = createWriteTracker()
  const after = (settled: Promise<void> | undefined): Order | undefined =>
    settled === undefined ? undefined : { after: settled }
  return {
    write: (namespace, key) => ({
      after: writes.settledKey(namespace, key),
      track: (sent) => writes.track(namespace, key, sent),
    }),
    afterKey: (namespace, key) => after(writes.settledKey(namespace, key)),
    afterNamespace: (namespace, keyPrefix) => after(writes.settledNamespace(namespace, keyPrefix)),
  }
}
