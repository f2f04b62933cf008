/**
 * The cache server of a soak run, one per backend, started with the starters the backends' own tests use, so the
 * chaos step can kill and restart it by PID. The truth never lives on it.
 */
import { type MemcachedServer, startMemcached } from '../../memcached/test/memcached-server'
import { startStandIn } from '../../mongodb/test/server'
import { startRedisServer } from '../../redis/test/servers'
import type { Backend } from './config'

/** A cache server the soak started and may crash. */
export interface CacheServer {
  /** What the storages connect to: a URL (Redis, MongoDB) or `host:port` (memcached). */
  readonly url: string
  /** How the chaos step ends the process, for the report. */
  readonly crash: string
  /** Ends the process abruptly (as `crash` says) and waits until it is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port, empty, and waits until it answers. */
  restart(): Promise<void>
  /** Stops it for good. Idempotent. */
  stop(): Promise<void>
}

/** Starts the cache server of `backend` on `port` (which must be free). */
export async function startCacheServer(backend: Backend, port: number): Promise<CacheServer> {
  if (backend === 'redis') return redisServer(port)
  if (backend === 'memcached') return memcachedServer(port)
  return mongoServer(port)
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
    restart: () => server.restart(),
    stop: () => server.stop(),
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
    },
    stop: () => server.stop(),
  }
}

async function mongoServer(port: number): Promise<CacheServer> {
  // The stand-in's starter offers no SIGKILL; its data lives in memory, so a SIGTERM loses it all the same (only
  // the clients see their connections closed rather than reset).
  let server = await startStandIn(port)
  let stopped = false
  return {
    url: server.url,
    crash: 'SIGTERM (the stand-in keeps its data in memory)',
    kill: () => server.stop(),
    async restart() {
      server = await startStandIn(port)
    },
    async stop() {
      if (stopped) return
      stopped = true
      await server.stop()
    },
  }
}
