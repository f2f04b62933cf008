import { objectLabel } from '@memokit/core/backend'
import type { RedisCompatibleClient } from './client'
import { isClientPool } from './write-order'

/** Where a client sends its commands, for messages and for the storage's `scope`. Never holds credentials. */
export interface Location {
  /** For messages, e.g. `127.0.0.1:6379`, `cluster 10.0.0.1:7000,10.0.0.2:7000`, `Sentinel master 10.0.0.3:6379`. */
  where(): string
  /**
   * The server part of the scope, e.g. `redis://127.0.0.1:6379/0`: equal for two clients of one server and
   * database. Where the client doesn't tell (a pool, a Sentinel client), the client object itself:
   * `redis-client#3`, so storages sharing that object still share a scope.
   */
  readonly server: string
}

interface SocketOptions {
  readonly host?: unknown
  readonly port?: unknown
  readonly tls?: unknown
  readonly path?: unknown
}

interface NodeAddress {
  readonly host?: unknown
  readonly port?: unknown
}

// The same object behind node-redis' proxies (withTypeMapping, withCommandOptions share `_self`).
function clientLabel(client: object): string {
  const self = (client as { _self?: unknown })._self
  return objectLabel('redis-client', typeof self === 'object' && self !== null ? self : client)
}

/** `host:port` (IPv6 hosts bracketed), defaulting like node-redis and ioredis to localhost:6379. */
export function hostPort(socket: SocketOptions | undefined): string {
  const host = typeof socket?.host === 'string' ? socket.host : 'localhost'
  const port = typeof socket?.port === 'number' ? socket.port : 6379
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`
}

function nodeAddress(node: unknown): string | undefined {
  const n = node as { url?: unknown; socket?: SocketOptions } | null
  if (typeof n?.url === 'string') {
    try {
      const url = new URL(n.url)
      return `${url.hostname}:${url.port === '' ? 6379 : url.port}`
    } catch {
      return undefined
    }
  }
  return n?.socket === undefined ? undefined : hostPort(n.socket)
}

/** A cluster named by its sorted root nodes (at most 3 shown in messages); undefined when none is known. */
export function clusterLocation(nodes: readonly string[]): Location | undefined {
  const addresses = [...new Set(nodes)].sort()
  if (addresses.length === 0) return undefined
  const shown = addresses.length > 3 ? `${addresses.slice(0, 3).join(',')},…` : addresses.join(',')
  return { where: () => `cluster ${shown}`, server: `redis-cluster://${addresses.join(',')}` }
}

/** Locates a standalone client (also one memokit built from a URL), a cluster, or else the client object. */
export function locate(client: RedisCompatibleClient): Location {
  const options = (client as { options?: { socket?: SocketOptions; database?: unknown } }).options
  if (options !== null && typeof options === 'object') {
    const socket = options.socket
    const db = typeof options.database === 'number' ? options.database : 0
    if (typeof socket?.path === 'string') {
      const path = socket.path
      return { where: () => path, server: `redis+unix://${path}?db=${db}` }
    }
    const address = hostPort(socket)
    return { where: () => address, server: `${socket?.tls ? 'rediss' : 'redis'}://${address}/${db}` }
  }
  const rootNodes = (client as { _options?: { rootNodes?: unknown } })._options?.rootNodes
  if (Array.isArray(client.masters) && Array.isArray(rootNodes)) {
    const cluster = clusterLocation(rootNodes.map(nodeAddress).filter((a): a is string => a !== undefined))
    if (cluster !== undefined) return cluster
  }
  const server = clientLabel(client)
  const getMasterNode = (client as { getMasterNode?: () => NodeAddress | undefined }).getMasterNode
  if (typeof getMasterNode === 'function') {
    // The master moves on failover: name the one of the moment.
    return {
      where: () => {
        let master: NodeAddress | undefined
        try {
          master = getMasterNode.call(client)
        } catch {
          // Not connected yet.
        }
        // node-redis names a master only while its connection is ready: not before the first connect, nor while the
        // master is down or being replaced (where most errors come from), so this says no more than that.
        return master === undefined ? 'Sentinel (no master ready)' : `Sentinel master ${hostPort(master)}`
      },
      server,
    }
  }
  const kind = isClientPool(client) ? 'a Redis client pool' : 'a Redis client'
  return { where: () => kind, server }
}
