import { CodecError, ConfigError } from '@memokit/core'
import type { MemcachedClient } from './client'
import { type MemjsPerformLike, memjsCas, memjsGets } from './memjs-cas'
import {
  canGetMulti,
  type MemjsServerLike,
  type MultiReader,
  memjsGetMulti,
  memjsReadMulti,
  READ_MULTI,
} from './memjs-multi'
import { guardMemjsServer } from './memjs-stream'

/**
 * The part of a memjs `Client` (memjs 1.x, binary protocol) that {@link fromMemjs} calls. A real
 * `memjs.Client.create(...)` fits; no import of memjs is needed here.
 */
export interface MemjsClientLike {
  get(key: string): Promise<{ readonly value: Buffer | string | null }>
  set(key: string, value: string, options: { expires?: number }): Promise<boolean>
  add(key: string, value: string, options: { expires?: number }): Promise<boolean>
  append(key: string, value: string): Promise<boolean>
  delete(key: string): Promise<boolean>
  /** memjs' servers; their `host:port` becomes the adapter's `server` (credentials are left out). */
  readonly servers?: ReadonlyArray<{ readonly host?: unknown; readonly port?: unknown }>
  /** memjs' request sequence and `perform` (public in memjs 1.x): the adapter sends `gets` and `cas` through them. */
  readonly seq?: number
  incrSeq?(): void
  perform?: MemjsPerformLike['perform']
  /** memjs' server for a key (public in memjs 1.x): the adapter's `getMulti` writes to it directly. */
  server?(key: string): MemjsServerLike | null | undefined
}

// `host:port` of each server, without the credentials a server string may carry (`user:pass@host:port`).
function joinServers(addresses: readonly unknown[]): string | undefined {
  const shown = addresses
    .filter((a): a is string => typeof a === 'string' && a !== '')
    .map((a) => a.slice(a.lastIndexOf('@') + 1))
  return shown.length === 0 ? undefined : shown.join(',')
}

function withServer(client: MemcachedClient, server: string | undefined): MemcachedClient {
  return server === undefined ? client : { ...client, server }
}

/**
 * Adapts a memjs client (`memjs.Client.create('host:port', options)`) to {@link MemcachedClient}. The client stays
 * yours: memokit never closes it. Create it without an `expires` option: memjs sends its default instead of 0, so
 * entries without TTL (and namespace versions) would expire after that default (a later miss, never a wrong value).
 * memjs's own `timeout` (0.5 s) and `retries` (2) apply inside memokit's `operationTimeoutMs`. memjs has no
 * method for `gets` and `cas`; the adapter sends them as binary-protocol requests through memjs's `perform`, which
 * gives the storage its lease members. Reads (`get`, `getMulti`) are binary-protocol GETK requests, quiet for every
 * key but the last: all those started in one tick go to a server in one write, each key once; memjs's `retries`
 * don't apply to them (a connection error fails the read, which memokit reports as a StorageError). The adapter
 * guards memjs's servers so that a reply cut mid-way (a timeout during a large value, a dropped connection) can't
 * misframe the replies of the connections after it (memjs-stream.ts).
 */
export function fromMemjs(client: MemjsClientLike): MemcachedClient {
  const servers = Array.isArray(client.servers) ? client.servers : []
  // A reply cut mid-way must not misframe every later reply of its server (memjs-stream.ts).
  for (const s of servers) guardMemjsServer(s)
  const server = joinServers(
    servers.map((s) => (s.host === undefined ? undefined : `${String(s.host)}:${String(s.port)}`)),
  )
  return withServer(fromMemjsCommands(client), server)
}

const first = (values: readonly (Buffer | undefined)[]): Buffer | undefined => values[0]

function fromMemjsCommands(client: MemjsClientLike): MemcachedClient {
  const commands: MemcachedClient = {
    async get(key) {
      return (await client.get(key)).value
    },
    async set(key, value, exptime) {
      // memjs resolves true or rejects; anything else would be a memjs change we must not read as success.
      if ((await client.set(key, value, { expires: exptime })) !== true) throw new Error('memjs set: not stored')
    },
    add: (key, value, exptime) => client.add(key, value, { expires: exptime }),
    async append(key, value) {
      try {
        return await client.append(key, value)
      } catch (error) {
        // memcached answers an append to an absent key with "Item not stored", which memjs rejects with.
        if (error instanceof Error && /Item not stored/.test(error.message)) return false
        throw error
      }
    },
    delete: (key) => client.delete(key),
  }
  if (canGetMulti(client)) {
    const multi = client
    // Single gets join the tick's batch too (one socket write for all the reads started in a tick); one key is
    // always on one server.
    commands.get = (key) => (memjsGetMulti(multi, [key]) as Promise<(Buffer | undefined)[]>).then(first)
    // Keys spread over several servers are read per key (each server's reads still share a write).
    const getMulti = (keys: readonly string[]) =>
      memjsGetMulti(multi, keys) ?? Promise.all(keys.map((key) => commands.get(key)))
    // The storage's hit reads through this (hit.ts), without a promise of the read's own.
    commands.getMulti = Object.assign(getMulti, {
      [READ_MULTI]: (reader: MultiReader) => memjsReadMulti(multi, reader),
    })
  }
  if (typeof client.perform === 'function' && typeof client.incrSeq === 'function') {
    const raw = client as MemjsPerformLike
    commands.gets = (key) => memjsGets(raw, key)
    commands.cas = (key, value, exptime, cas) => memjsCas(raw, key, value, exptime, cas)
  }
  return commands
}

/** Options memokit passes to memcache-client's store commands. */
export interface MemcacheClientStoreOptions {
  /** memcached exptime; memcache-client would send 60 s when it is missing. */
  readonly lifetime: number
  /** Always `false`: a NOT_STORED reply must reach memokit as "not stored". */
  readonly ignoreNotStored: false
}

/**
 * The part of a memcache-client `MemcacheClient` (text protocol) that {@link fromMemcacheClient} calls. A real
 * `new MemcacheClient({ server })` fits; no import of memcache-client is needed here.
 */
export interface MemcacheClientLike {
  /** One key: the item (`{ value }`) or `undefined`; several keys: an object of the found items by key. */
  get(key: string | string[]): Promise<unknown>
  set(key: string, value: string, options: MemcacheClientStoreOptions): Promise<unknown>
  add(key: string, value: string, options: MemcacheClientStoreOptions): Promise<unknown>
  append(key: string, value: string, options: MemcacheClientStoreOptions): Promise<unknown>
  delete(key: string): Promise<unknown>
  /** `gets`: the item with its `casUniq`, or `undefined`; the adapter's `gets` (leases). */
  gets?(key: string): Promise<unknown>
  /** `cas`: stores while the key's CAS unique is `options.casUniq`; rejects with `EXISTS` or `NOT_FOUND` otherwise. */
  cas?(key: string, value: string, options: MemcacheClientStoreOptions & { readonly casUniq: string }): Promise<unknown>
  /** The client's options; `server` (a string, `{ server }` or `{ servers: [{ server }] }`) names the adapter's server. */
  readonly options?: { readonly server?: unknown }
}

function memcacheClientServer(option: unknown): string | undefined {
  if (typeof option === 'string') return joinServers([option])
  const o = option as { server?: unknown; servers?: unknown } | null | undefined
  if (typeof o?.server === 'string') return joinServers([o.server])
  if (Array.isArray(o?.servers)) return joinServers(o.servers.map((s: { server?: unknown } | null) => s?.server))
  return undefined
}

// memcache-client rejects with an Error whose message is the server's reply word.
const replyIs = (error: unknown, word: string): boolean => error instanceof Error && error.message === word

// memcache-client resolves ['STORED'] (or 'ignore NOT_STORED' when asked to ignore it, which we never ask).
async function stored(reply: Promise<unknown>): Promise<boolean> {
  try {
    const result = await reply
    if (Array.isArray(result) && result[0] === 'STORED') return true
    throw new Error(`memcache-client: unexpected reply ${JSON.stringify(result)}`)
  } catch (error) {
    if (replyIs(error, 'NOT_STORED')) return false
    throw error
  }
}

function itemValue(item: unknown, key: string): string | Buffer | undefined {
  if (item === undefined || item === null) return undefined
  const value = (item as { value?: unknown }).value
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value
  // memcache-client decodes by the item's flags: a number or JSON here means someone else wrote this key.
  throw new CodecError(`memcache-client returned a ${typeof value} for ${key}: not a memokit entry`)
}

/**
 * Adapts a memcache-client `MemcacheClient` (`new MemcacheClient({ server: 'host:port' })`) to
 * {@link MemcachedClient}, with `getMulti` (a read is one `get <version> <entry>` command), and `gets`/`cas`
 * (leases). One server only: memcache-client sends each command to a random one of several, so a client with more
 * is a ConfigError. The client stays yours: memokit never shuts it down. Its `cmdTimeout` (default 5 s)
 * should be at least memokit's `operationTimeoutMs`; memokit's own deadline bounds every call anyway.
 */
export function fromMemcacheClient(client: MemcacheClientLike): MemcachedClient {
  const option = client.options?.server as { servers?: unknown } | null | undefined
  // memcache-client takes several servers as redundant copies: each command goes to one picked at random, with no
  // key hashing. A clear (a new namespace version) then lands on one server while reads ask another, which still
  // holds the old version and its entries: cleared values served (review.test.ts saw 3 in 40 reads after clears).
  if (Array.isArray(option?.servers) && option.servers.length > 1) {
    throw new ConfigError(
      'client',
      'fromMemcacheClient: a memcache-client with several servers sends each command to one of them at random (redundant servers, no key hashing), so a clear or delete on one server leaves the others serving the old values; give it one server, or use memjs, which spreads keys over servers by hashing',
    )
  }
  return withServer(fromMemcacheClientCommands(client), memcacheClientServer(client.options?.server))
}

function fromMemcacheClientCommands(client: MemcacheClientLike): MemcachedClient {
  // Written out per command rather than spread from one object: `{ ...store, lifetime }` costs about 1 us (Node 20).
  const store = { lifetime: 0, ignoreNotStored: false } as const
  const commands: MemcachedClient = {
    async get(key) {
      return itemValue(await client.get(key), key)
    },
    async getMulti(keys) {
      const found = await client.get([...keys])
      if (found === null || typeof found !== 'object') {
        throw new Error(`memcache-client: unexpected multi-get reply ${String(found)}`)
      }
      return keys.map((key) => itemValue((found as Record<string, unknown>)[key], key))
    },
    async set(key, value, exptime) {
      if (!(await stored(client.set(key, value, { lifetime: exptime, ignoreNotStored: false })))) {
        throw new Error('memcache-client set: NOT_STORED')
      }
    },
    add: (key, value, exptime) => stored(client.add(key, value, { lifetime: exptime, ignoreNotStored: false })),
    append: (key, value) => stored(client.append(key, value, store)),
    async delete(key) {
      try {
        const reply = await client.delete(key)
        if (Array.isArray(reply) && reply[0] === 'DELETED') return true
        throw new Error(`memcache-client: unexpected reply ${JSON.stringify(reply)}`)
      } catch (error) {
        if (replyIs(error, 'NOT_FOUND')) return false
        throw error
      }
    },
  }
  const { gets, cas } = client
  if (typeof gets === 'function' && typeof cas === 'function') {
    commands.gets = async (key) => {
      const item = await gets.call(client, key)
      const value = itemValue(item, key)
      if (value === undefined) return undefined
      const unique = (item as { casUniq?: unknown }).casUniq
      if (typeof unique !== 'string' && typeof unique !== 'number') {
        throw new Error(`memcache-client gets: no CAS unique for ${key}`)
      }
      return { value, cas: String(unique) }
    }
    commands.cas = async (key, value, exptime, unique) => {
      try {
        return await stored(
          cas.call(client, key, value, { lifetime: exptime, ignoreNotStored: false, casUniq: unique }),
        )
      } catch (error) {
        // EXISTS: changed since gets; NOT_FOUND: gone.
        if (replyIs(error, 'EXISTS') || replyIs(error, 'NOT_FOUND')) return false
        throw error
      }
    }
  }
  return commands
}
