import { type AsyncStorage, CodecError, type Entry, resolveCodec, type SetOptions } from '@memokit/core'
import { createWriteTracker, GET_THEN, objectLabel, resolveEntryTtl, storageClosed } from '@memokit/core/backend'
import { createReadEntry } from './hit'
import { leaseMembers } from './leases'
import { markLine, type NamespaceState, newToken, parseState } from './namespace-state'
import { type MemcachedStorageOptions, resolveOptions } from './options'
import { createReads } from './reads'
import { type Call, createRunner, type Order } from './run'
import { toExptime } from './ttl'
import { asText, createVersioned } from './versioned'

const NAME = 'memcached'
// The version key is read on every operation: a clear(namespace, keyPrefix) whose line would take it past this size
// clears the whole namespace (starting a new, short version value) instead of appending the line. The line counts
// too: a long prefix would otherwise make every read carry it (up to memcached's item size, past which the append,
// and so the clear, failed).
const MAX_STATE_CHARS = 2048

/** The storage {@link memcachedStorage} returns: an `AsyncStorage` whose `scope` and `close` are present. */
export interface MemcachedStorage extends AsyncStorage {
  /** Where the storage writes: the server (or the client object) and the key prefix. */
  readonly scope: string
  /**
   * Waits for the operations already issued, hits included (each within `operationTimeoutMs`), then resolves; later
   * calls reject at once with a StorageError without a command to your client, and memokit's background retries of
   * failed clears on this storage end (each reported once as not retried). It does not close your client, which may
   * serve other code: after it, call `memcached.close()` / `memcached.shutdown()` yourself.
   */
  close(): Promise<void>
}

/**
 * A memcached storage over your own client. Entries live at `<prefix>:<namespace>:<version>:<key>` (hashed with
 * SHA-256 when longer than 250 bytes or unsafe for memcached); `clear` changes the namespace version instead of
 * flushing the server. TTLs go to memcached in whole seconds, rounded up; reads also check the entry's ms expiry.
 * Every operation is bounded by `operationTimeoutMs` and fails with a StorageError naming the server (the
 * client's `server`). Unknown or invalid options throw a ConfigError before anything is sent.
 *
 * With a client that has `gets` and `cas` (both adapters do), the storage has the lease members: `acquireLease`
 * (`add`, or `cas` over a lapsed lease), `releaseLease` and `extendLease` (`gets` + `cas`), all atomic; and
 * `setIfLeased`, which is best-effort: the entry and its lease are two keys, so a write fenced out by a `delete`
 * or `clear` arriving during the call is removed again right after it landed (see the README, "Leases").
 *
 * @example
 * import memjs from 'memjs'
 * const storage = memcachedStorage({ client: fromMemjs(memjs.Client.create('127.0.0.1:11211')) })
 */
export function memcachedStorage(options: MemcachedStorageOptions): MemcachedStorage {
  const { client, escapedPrefix, operationTimeoutMs, versionCacheMs } = resolveOptions(options)
  const codec = resolveCodec(options.codec, 'memcachedStorage')
  const where = client.server ?? 'memcached'
  const scope = `${client.server === undefined ? objectLabel('memcached-client', client) : `memcached://${client.server}`} ${escapedPrefix}:`
  const runner = createRunner(where, operationTimeoutMs)
  const { run } = runner
  const versioned = createVersioned(client, escapedPrefix, versionCacheMs)
  const { withState, entryKey } = versioned
  const reads = createReads(client, versioned)
  const { readEntry, readMany } = reads
  // A write reads the namespace version before it stores: one issued before a delete or clear could otherwise land
  // after it (under the version the clear just started, or on the key just deleted). And one that timed out for its
  // caller may still be on its way: memcache-client with maxConnections above 1 sends the next command on another
  // connection, where it can overtake it. So a write is tracked until the client answered every command it sent,
  // and delete, clear and the key's next writes wait for what they follow, within their own deadline.
  const writes = createWriteTracker()
  // A set, add or lease member of `key`: tracked until answered; after the key's writes already issued (`follows`).
  const writeOrder = (ns: string, key: string, follows: boolean): Order => ({
    after: follows ? writes.settledKey(ns, key) : undefined,
    landed: (landed) => void writes.track(ns, key, landed),
  })
  // An invalidation: after the writes it removes, if any is in flight (else run as before, unordered).
  const after = (settled: Promise<void> | undefined): Order | undefined =>
    settled === undefined ? undefined : { after: settled }

  const decodeLive = (raw: unknown): Entry | undefined => {
    if (raw === null || raw === undefined) return undefined
    const entry = codec.decodeEntry(asText(raw))
    // memcached keeps an entry up to a second past its ms expiry (whole seconds, rounded up): check it here.
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) return undefined
    return entry
  }

  const getEntry = createReadEntry({ client, versioned, reads, runner, decode: decodeLive })

  const encode = (value: unknown, options: SetOptions | undefined): { payload: string; exptime: number } => {
    const ttl = resolveEntryTtl(NAME, options?.ttl)
    const createdAt = Date.now()
    const expiresAt = ttl === undefined ? undefined : createdAt + ttl
    const meta = options?.meta
    const payload = codec.encodeEntry(
      meta === undefined ? { value, createdAt, expiresAt } : { value, createdAt, expiresAt, meta },
    )
    return { payload, exptime: toExptime(ttl, createdAt) }
  }

  const leases = leaseMembers({ client, versioned, run, writeOrder, encode })

  const storage: MemcachedStorage = {
    async: true,
    name: NAME,
    scope,

    // The hit path (hit.ts): one promise from the multi-get's reply to the decoded entry (bench H1).
    get: (ns, key) => getEntry(ns, key) as Promise<Entry | undefined>,
    // The same read for core's hit path (flow.ts readAndServe): the entry, or the failure, goes to core's
    // callbacks inside this read's promise, so the hit has no promise and microtask of core's own.
    ...{ [GET_THEN]: getEntry },

    async getMany(ns, keys) {
      if (keys.length === 0) return []
      return run('get', async (call) => {
        const raws = await readMany(call, ns, keys)
        return raws === undefined ? keys.map(() => undefined) : raws.map(decodeLive)
      })
    },

    async set(ns, key, value, options) {
      const { payload, exptime } = encode(value, options)
      await run(
        'set',
        (call) =>
          withState(
            call,
            ns,
            'write',
            (state) => call(() => client.set(entryKey(ns, state, key), payload, exptime)),
            undefined,
            key,
          ),
        Buffer.byteLength(payload),
        writeOrder(ns, key, true),
      )
    },

    async delete(ns, key) {
      const body = async (call: Call): Promise<boolean> => {
        const found = await readEntry(call, ns, key, 'read')
        if (found === undefined) return false
        const present = found.raw !== null && found.raw !== undefined
        let live = false
        try {
          live = present && decodeLive(found.raw) !== undefined
        } catch (error) {
          // A corrupt payload is no live entry: remove it all the same.
          if (!(error instanceof CodecError)) throw error
        }
        // The lease goes first (only a client with gets/cas can have written one): it fences out its holder. Then
        // the entry key, present at the read or not: a fenced write may have landed since, before the lease went.
        if (leases !== undefined) await call(() => client.delete(versioned.leaseKey(ns, found.state, key)))
        const removed = await call(() => client.delete(found.mKey))
        return live && removed
      }
      return run('delete', body, undefined, after(writes.settledKey(ns, key)))
    },

    async clear(ns, keyPrefix) {
      const order = after(writes.settledNamespace(ns, keyPrefix))
      versioned.clearStarts(ns)
      let fresh: NamespaceState | undefined
      try {
        await run(
          'clear',
          async (call) => {
            if (keyPrefix === undefined || keyPrefix === '') {
              fresh = await versioned.rotate(call, ns)
              return
            }
            const vKey = versioned.versionKey(ns)
            const raw = await call(() => client.get(vKey))
            // No version: nothing written since the last eviction, so nothing to clear.
            if (raw === null || raw === undefined) return
            const state = parseState(asText(raw))
            const line = markLine(keyPrefix, newToken())
            if (state === undefined || state.raw.length + line.length > MAX_STATE_CHARS) {
              fresh = await versioned.rotate(call, ns)
              return
            }
            // append is atomic: concurrent clears of different prefixes can't drop each other's lines. Lease keys
            // embed the same version part as their entries, so they move out of reach with them.
            await call(() => client.append(vKey, line))
          },
          undefined,
          order,
        )
      } finally {
        versioned.clearEnds(ns, fresh)
      }
    },

    async add(ns, key, value, options) {
      const { payload, exptime } = encode(value, options)
      return run(
        'add',
        async (call) =>
          (await withState(
            call,
            ns,
            'write',
            (state) => call(() => client.add(entryKey(ns, state, key), payload, exptime)),
            undefined,
            key,
          )) === true,
        Buffer.byteLength(payload),
        writeOrder(ns, key, true),
      )
    },

    close() {
      // First: a background clear retry must not start while the operations in flight finish.
      storageClosed(storage)
      return runner.close()
    },
  }
  return leases === undefined ? storage : Object.assign(storage, leases)
}
