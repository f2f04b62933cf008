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
  /** Ends the process abruptly (as `crash` says) and waits until it is gone; or freezes it (MongoDB stand-in). */
  kill(): Promise<void>
  /** Starts it again on the same port, empty, and waits until it answers; or resumes it (MongoDB stand-in). */
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
    },
    stop: () => server.stop(),
  }
}
