/** Where a connection goes: the pool memokit builds from a URL, and the server a pool or client talks to. */
import { ConfigError } from '@memokit/core'
import { messageOf, redactUrl } from '@memokit/core/backend'
import pg from 'pg'

const OWNER = 'postgresStorage'

/**
 * node-postgres settings for the pool built from `url`. Settings in the URL itself (`?options=…`,
 * `?statement_timeout=…`) win: node-postgres lets the connection string override these fields.
 */
export function poolConfig(url: string, timeoutMs: number): pg.PoolConfig {
  return {
    connectionString: url,
    // pg's own limits fire before memokit's deadline, so its error (naming e.g. ECONNREFUSED) becomes the cause.
    connectionTimeoutMillis: Math.max(1, Math.floor(timeoutMs * 0.9)),
    // The server gives up on a statement (a lock wait, a huge clear) when the caller has.
    statement_timeout: Math.ceil(timeoutMs),
    // A cache write need not wait for its WAL flush (about 1 ms instead of 6-8 ms per write measured here); a server
    // crash may lose the last fraction of a second of writes, which only costs recomputing them.
    options: '-c synchronous_commit=off',
    keepAlive: true,
    // Idle connections don't keep the process alive: a script that never calls close() still exits.
    allowExitOnIdle: true,
  }
}

/**
 * `host:port/database` as node-postgres resolves it (connection string, fields, `PG*` environment variables,
 * defaults), read from a client, or from a pool's options by building an unconnected client: no user, no password.
 * `undefined` when it can't be told.
 */
export function serverOf(source: unknown, option: 'url' | 'pool' | 'client'): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined
  let resolved = source as { host?: unknown; port?: unknown; database?: unknown }
  if (!(source instanceof pg.Client) && !('connectionParameters' in source)) {
    try {
      resolved = new pg.Client(source as pg.ClientConfig)
    } catch (error) {
      const detail = messageOf(error).replace(/\S+:\/\/\S+/g, (text) => redactUrl(text))
      throw new ConfigError(option, `${OWNER}: node-postgres can't read the connection settings: ${detail}`, {
        cause: error,
      })
    }
  }
  const { host, port, database } = resolved
  if (typeof host !== 'string' || host === '' || typeof database !== 'string') return undefined
  // A socket directory is one path segment once encoded; an IPv6 address goes in brackets, as in a URL.
  const shownHost = host.startsWith('/')
    ? encodeURIComponent(host)
    : host.includes(':')
      ? `[${host.toLowerCase()}]`
      : host.toLowerCase()
  return `${shownHost}:${String(port)}/${encodeURIComponent(database)}`
}
