// The set-up the reshard test files share (cluster-reshard*.test.ts): one reshard cluster per file (reshard.ts),
// started in beforeAll and stopped with every client in afterAll, and the two client libraries' sides, each a
// storage over a new Cluster client of it with its own key prefix (so its own slots).
import { afterAll, beforeAll } from '@jest/globals'
import { type RedisStorage, redisStorage } from '@memokit/redis'
import type { Cluster, Redis } from 'ioredis'
import { createCluster, type RedisClusterType } from 'redis'
import { ioredisClients } from './ioredis-clients'
import { entryWalksInOrder, type ReshardCluster, startReshardCluster } from './reshard'
import { disposer, envPort, FAILOVER_SOCKET } from './servers'

/** How a clear's entry walks are ordered (entryWalksInOrder): ports of the masters, and the move in between. */
export interface HeldWalks {
  readonly first: number
  readonly hold: number
  between(): Promise<void>
}

/** One client library's side: a storage over a new Cluster client of the reshard cluster. */
export interface ClientCase {
  readonly name: string
  readonly prefix: string
  /** The client sends a TRYAGAIN again itself (ioredis), for longer than memokit's deadline. */
  readonly retriesTryAgain: boolean
  /** A storage with `operationTimeoutMs` (default 1000 ms); `walks` orders its clear's walks. */
  storage(operationTimeoutMs?: number, walks?: HeldWalks): RedisStorage
}

// Replaces the node-redis Cluster client's per-master clients (which clear scans through) so that its walk for
// entries (not leases) follows `walks`.
function holdNodeRedisWalks(client: RedisClusterType, walks: HeldWalks): void {
  const step = entryWalksInOrder(walks.first, walks.hold, walks.between)
  const nodeClient = client.nodeClient.bind(client)
  const replaced = async (master: { port: number }) => {
    const n = (await nodeClient(master as never)) as unknown as { withTypeMapping(m: unknown): unknown }
    return new Proxy(n, {
      get(target, prop) {
        if (prop !== 'withTypeMapping') return Reflect.get(target, prop)
        return (mapping: unknown) => {
          const typed = target.withTypeMapping(mapping) as {
            scan(c: string, o: { MATCH: string }): Promise<{ cursor: unknown }>
          }
          return {
            scan: (cursor: string, options: { MATCH: string }) =>
              step(
                master.port,
                cursor,
                options.MATCH,
                () => typed.scan(cursor, options),
                (reply) => String(reply.cursor),
              ),
          }
        }
      },
    })
  }
  Object.assign(client, { nodeClient: replaced })
}

// The same for an ioredis Cluster: the masters clear reaches (`nodes('master')`) are wrapped.
function holdIoredisWalks(client: Cluster, walks: HeldWalks): void {
  const step = entryWalksInOrder(walks.first, walks.hold, walks.between)
  const nodes = client.nodes.bind(client)
  const replaced = (role: 'master') =>
    nodes(role).map(
      (master: Redis) =>
        new Proxy(master, {
          get(target, prop) {
            if (prop !== 'scanBuffer') return Reflect.get(target, prop)
            return (cursor: string, ...args: (string | Buffer)[]) =>
              step(
                Number(target.options.port),
                cursor,
                args[1] as string | Buffer,
                () => target.scanBuffer(cursor, ...(args as ['MATCH', string])),
                (reply) => String(reply[0]),
              )
          },
        }),
    )
  Object.assign(client, { nodes: replaced })
}

/** What a call settled with, as text: its value as JSON, or the name of its error (a StorageError: refused). */
export const outcome = (work: Promise<unknown>): Promise<string> =>
  work.then(
    (value) => JSON.stringify(value),
    (error: unknown) => (error instanceof Error ? error.name : 'failed'),
  )

/**
 * Starts a reshard cluster for the calling test file on the port in `portVariable` (else `fallbackPort`; it uses
 * that port and the next five, and their bus ports 10000 above), and stops it and every client made in afterAll.
 * `cluster()` is the running cluster (from beforeAll on); `cases` the node-redis and the ioredis side.
 */
export function reshardSetUp(
  portVariable: string,
  fallbackPort: number,
): { cluster(): ReshardCluster; cases: readonly ClientCase[] } {
  const cleanup = disposer()
  const clients = ioredisClients()
  let running: ReshardCluster | undefined
  const cluster = (): ReshardCluster => {
    if (running === undefined) throw new Error('the reshard cluster is not started (beforeAll)')
    return running
  }
  beforeAll(async () => {
    running = await startReshardCluster(envPort(portVariable, fallbackPort))
  }, 60_000)
  afterAll(async () => {
    await cleanup.disposeAll()
    await clients.closeAll()
    await running?.stop()
  }, 60_000)

  const nodeRedis: ClientCase = {
    name: 'node-redis Cluster',
    prefix: 'reshard',
    retriesTryAgain: false,
    storage(operationTimeoutMs = 1000, walks) {
      const client = createCluster({
        rootNodes: [...cluster().processes.rootNodes],
        defaults: { disableOfflineQueue: true, socket: FAILOVER_SOCKET },
        topologyRefreshOnReconnectionAttemptStrategy: 200,
      }) as RedisClusterType
      client.on('error', () => {})
      cleanup.track(client)
      if (walks !== undefined) holdNodeRedisWalks(client, walks)
      return cleanup.track(redisStorage({ client, prefix: this.prefix, operationTimeoutMs }))
    },
  }
  const ioredis: ClientCase = {
    name: 'ioredis Cluster',
    prefix: 'io-reshard',
    retriesTryAgain: true,
    storage(operationTimeoutMs = 1000, walks) {
      // The README's options; ioredis' retry settings are left at their defaults, as most users leave them.
      const client = clients.cluster(
        cluster().processes.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
        { enableOfflineQueue: false, slotsRefreshInterval: 1000 },
      )
      if (walks !== undefined) holdIoredisWalks(client, walks)
      return cleanup.track(redisStorage({ client, prefix: this.prefix, operationTimeoutMs }))
    },
  }
  return { cluster, cases: [nodeRedis, ioredis] }
}
