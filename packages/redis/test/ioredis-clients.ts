// The user's side in the ioredis tests: clients a test file creates, with an 'error' listener (ioredis logs
// unhandled ones), closed in afterAll after the storages using them.
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'

// ioredis' disconnect() of a client between reconnect attempts ends its last (already closed) socket and waits
// disconnectTimeout (default 2 s) for a 'close' that never comes, keeping jest from exiting that long.
const DISCONNECT_MS = 50

/** Creates ioredis clients and closes them all at the end. */
export function ioredisClients(): {
  redis(url: string, options?: RedisOptions): Redis
  cluster(nodes: ClusterNode[], options?: ClusterOptions): Cluster
  closeAll(): Promise<void>
} {
  const clients: (Redis | Cluster)[] = []
  const keep = <T extends Redis | Cluster>(client: T): T => {
    client.on('error', () => {})
    clients.push(client)
    return client
  }
  return {
    redis: (url, options = {}) => keep(new Redis(url, { disconnectTimeout: DISCONNECT_MS, ...options })),
    cluster: (nodes, options = {}) =>
      keep(
        new Cluster(nodes, {
          ...options,
          redisOptions: { disconnectTimeout: DISCONNECT_MS, ...options.redisOptions },
        }),
      ),
    async closeAll() {
      await Promise.all(
        clients.splice(0).map(async (client) => {
          if (client.status === 'ready') await client.quit().catch(() => client.disconnect())
          else if (client.status !== 'end') client.disconnect()
        }),
      )
    },
  }
}
