import { RESP_TYPES } from 'redis'
import type { ClearTarget, ClientAdapter, RedisCompatibleClient, RedisScanClient } from './client'
import { clientKeyPrefix } from './options'
import { isSentinelClient } from './write-order'

const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer }

/**
 * The same client (or lease, or node client) replying with Buffers, for SCAN: a lease key is not valid UTF-8, so as
 * a string it would come back altered and its UNLINK would miss it. Every node-redis 6 client kind has
 * `withTypeMapping`; a structural client without it is used as it is.
 */
function binary<T>(client: T): T {
  const withTypeMapping = (client as { withTypeMapping?: (mapping: typeof BUFFERS) => T }).withTypeMapping
  return typeof withTypeMapping === 'function' ? withTypeMapping.call(client, BUFFERS) : client
}

/** node-redis' `RedisSentinel.sendCommand`: `isReadonly` false sends to the master. */
type SentinelSend = (
  isReadonly: boolean,
  args: (string | Buffer)[],
  options: { typeMapping: typeof BUFFERS },
) => Promise<unknown>

function scanTarget(node: RedisScanClient, unlink: ClearTarget['unlink']): ClearTarget {
  const scanner = binary(node)
  // A Buffer pattern goes through as it is (node-redis pushes MATCH's argument unchanged), though typed as a string.
  return { scan: (cursor, pattern, count) => scanner.scan(cursor, { MATCH: pattern as string, COUNT: count }), unlink }
}

/** How `clear` reaches the keyspace of a node-redis client: standalone, pool, Sentinel or cluster. */
export function adaptNodeRedis(client: RedisCompatibleClient): ClientAdapter {
  const keyPrefix = clientKeyPrefix(client)
  const { nodeClient } = client
  if (Array.isArray(client.masters) && typeof nodeClient === 'function') {
    // A namespace spreads over all slots: scan every master. One UNLINK per key, routed by the cluster client,
    // so no command ever spans two slots (CROSSSLOT) and keys moved by resharding are followed.
    const unlinkEach: ClearTarget['unlink'] = (keys) => Promise.all(keys.map((k) => client.unlink(k)))
    const nodeOf = nodeClient as (this: RedisCompatibleClient, node: unknown) => Promise<unknown>
    return {
      keyPrefix,
      cluster: true,
      clearTargets: () =>
        Promise.all(
          [...(client.masters ?? [])].map(async (master) =>
            scanTarget((await nodeOf.call(client, master)) as RedisScanClient, unlinkEach),
          ),
        ),
    }
  }
  const unlinkAll: ClearTarget['unlink'] = (keys) => client.unlink(keys)
  if (isSentinelClient(client)) {
    // A Sentinel client may send SCAN to a replica (replicaPoolSize > 0), which can lag behind the master: keys it
    // hasn't received yet would survive the clear. Sent as a write (isReadonly false), SCAN goes to the master
    // connection, as UNLINK does. Not through acquire(): node-redis builds a client class per lease (20-40 ms
    // each), which made a clear of a few keys take ~100 ms.
    const send = (client as { sendCommand?: SentinelSend }).sendCommand as SentinelSend
    const master: RedisScanClient = {
      scan: async (cursor, { MATCH, COUNT }) => {
        const args = ['SCAN', cursor, 'MATCH', MATCH, 'COUNT', String(COUNT)]
        const [next, keys] = (await send.call(client, false, args, { typeMapping: BUFFERS })) as [Buffer, Buffer[]]
        return { cursor: next, keys }
      },
    }
    const targets = [scanTarget(master, unlinkAll)]
    return { keyPrefix, cluster: false, clearTargets: async () => targets }
  }
  const targets = [scanTarget(client as RedisScanClient, unlinkAll)]
  return { keyPrefix, cluster: false, clearTargets: async () => targets }
}

/** A standalone node-redis client (`createClient`): the only kind whose command options memokit overrides. */
export interface StandaloneClient extends RedisCompatibleClient {
  readonly isReady: boolean
  withCommandOptions(options: { timeout?: number; abortSignal?: AbortSignal }): RedisCompatibleClient
}

/**
 * The same client without node-redis' own per-command timer (`commandOptions.timeout`, 5 s by default), for a user's
 * standalone node-redis client; `undefined` for any other kind. memokit bounds every operation itself
 * (operationTimeoutMs), and that timer (an AbortSignal.timeout per command, which keeps each command's closures alive
 * until it fires) cost more than the rest of a hit (bench R1, "own client"). `withCommandOptions` keeps the client's
 * other options (typeMapping) and shares its connection.
 */
export function untimed(client: RedisCompatibleClient): RedisCompatibleClient | undefined {
  return isStandalone(client) ? client.withCommandOptions({ timeout: 0 }) : undefined
}

function isStandalone(client: RedisCompatibleClient): client is StandaloneClient {
  const c = client as Partial<StandaloneClient>
  return (
    typeof c.withCommandOptions === 'function' &&
    typeof c.isReady === 'boolean' &&
    c.masters === undefined &&
    typeof c.acquire !== 'function'
  )
}

/** A cluster's master as node-redis 6 lists it: `client` is missing until connected, and after a rediscovery. */
interface ClusterNode {
  readonly client?: { readonly isReady: boolean }
}

const always = (): boolean => true

/**
 * Whether a command sent now through a user's node-redis 6 client may be held by the client and written later, past
 * memokit's deadline: while a standalone client isn't ready (its offline queue); while any master of a cluster has
 * no ready connection (that node client's offline queue, or the wait for a node client being created); always for
 * Sentinel (RedisSentinelInternal.execute waits for a ready master connection, even with disableOfflineQueue) and
 * pools (a task waits for a member, which may queue it offline): neither tells whether its connections are ready.
 * `undefined` for a client that never holds a command this way (an ioredis adapter, a structural client).
 */
export function mayHold(client: RedisCompatibleClient): (() => boolean) | undefined {
  if (typeof (client as Partial<StandaloneClient>).withCommandOptions !== 'function') return undefined
  if (isStandalone(client)) return () => !client.isReady
  const masters = client.masters
  if (Array.isArray(masters)) {
    const cluster = client as StandaloneClient
    return () => {
      if (!cluster.isReady) return true
      // The cluster's own list (node-redis keeps one array): no allocation on the ready path.
      const nodes = client.masters as readonly ClusterNode[]
      for (let i = 0; i < nodes.length; i++) if (nodes[i]?.client?.isReady !== true) return true
      return false
    }
  }
  return always
}

/**
 * `client` (any node-redis 6 kind) with `signal` as its commands' abortSignal, its other command options kept:
 * node-redis drops a command whose signal is aborted while it is still waiting (offline queue, a pool's task
 * queue, Sentinel's wait for its master), and rejects it at once if it is only handed to a connection afterwards.
 * `withCommandOptions` replaces the options on a cluster, pool or Sentinel proxy (merges on a standalone client),
 * so the current ones (`_commandOptions`, a plain field on all four kinds) are passed along.
 */
export function withAbortSignal(client: RedisCompatibleClient, signal: AbortSignal): RedisCompatibleClient {
  const c = client as StandaloneClient & { readonly _commandOptions?: object }
  return c.withCommandOptions({ ...c._commandOptions, abortSignal: signal })
}
