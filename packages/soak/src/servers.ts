/**
 * The cache server of a soak run, one per backend, started with the starters the backends' own tests use, so the
 * chaos step can kill and restart it by PID. The truth never lives on it.
 */
import { type MemcachedServer, startMemcached } from '../../memcached/test/memcached-server'
import { startStandIn } from '../../mongodb/test/server'
import { redisCli, startRedisServer } from '../../redis/test/servers'
import { clusterServer } from './cluster'
import type { Backend } from './config'

/** A cache server the soak started and may crash. */
export interface CacheServer {
  /**
   * What the storages connect to: a URL (Redis, MongoDB), `host:port` (memcached), or the nodes' URLs joined by
   * commas (Redis Cluster).
   */
  readonly url: string
  /** How the chaos step ends the process, for the report. */
  readonly crash: string
  /** Ends the process abruptly (as `crash` says) and waits until it is gone; or freezes it (MongoDB stand-in). */
  kill(): Promise<void>
  /**
   * Starts it again on the same port, empty, and waits until it answers; or resumes it (MongoDB stand-in); or, on
   * a cluster, waits for the failover and brings the killed master back as a replica. May resolve to a note on
   * what happened, for the report.
   */
  restart(): Promise<string | undefined>
  /** Stops it for good. Idempotent. */
  stop(): Promise<void>
  /**
   * Redis: kills every subscriber connection (`CLIENT KILL TYPE pubsub`: the buses' own, never a command
   * connection) and resolves to how many there were. The buses resubscribe by themselves.
   */
  killSubscribers?(): Promise<number>
}

/**
 * Starts the cache server of `backend`: Redis on `basePort`, MongoDB on `basePort + 1`, memcached on
 * `basePort + 2`, the tiered mode's Redis on `basePort + 3`, a Redis Cluster on `basePort`..`basePort + 5` (the
 * ports must be free).
 */
export async function startCacheServer(backend: Backend, basePort: number): Promise<CacheServer> {
  if (backend === 'redis') return redisServer(basePort)
  if (backend === 'redis-tiered') return redisServer(basePort + 3)
  if (backend === 'redis-cluster') return clusterServer(basePort)
  if (backend === 'memcached') return memcachedServer(basePort + 2)
  return mongoServer(basePort + 1)
}

async function redisServer(port: number): Promise<CacheServer> {
  const server = await startRedisServer(port)
  return {
    url: server.url,
    crash: 'SIGKILL',
    async kill() {
      server.signal('SIGKILL')
      await server.exited()
    },
    async restart() {
      await server.restart()
      return undefined
    },
    stop: () => server.stop(),
    async killSubscribers() {
      return Number((await redisCli(port, 'client', 'kill', 'type', 'pubsub')).trim())
    },
  }
}

async function memcachedServer(port: number): Promise<CacheServer> {
  let server: MemcachedServer = await startMemcached(port)
  return {
    url: server.address,
    crash: 'SIGKILL',
    // stop() waits for the port to be free, so the restart can bind it again.
    kill: () => server.stop('SIGKILL'),
    async restart() {
      server = await startMemcached(port)
      return undefined
    },
    stop: () => server.stop(),
  }
}

async function mongoServer(port: number): Promise<CacheServer> {
  // The stand-in takes seconds to restart on a loaded machine (a crash would leave the run mostly without a
  // server) and its starter offers no SIGKILL: its chaos is a hung server instead, frozen (SIGSTOP) and resumed.
  // Operations time out on the clients meanwhile and may still be applied once it resumes.
  const server = await startStandIn(port)
  return {
    url: server.url,
    crash: 'SIGSTOP (hung server)',
    async kill() {
      server.freeze()
    },
    async restart() {
      server.thaw()
      return undefined
    },
    stop: () => server.stop(),
  }
}
