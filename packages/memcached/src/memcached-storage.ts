import { type AsyncStorage, CodecError, type Entry, escapeKeyPart, resolveCodec, type SetOptions } from '@memokit/core'
import { createWriteTracker, objectLabel, resolveEntryTtl } from '@memokit/core/backend'
import { toMemcachedKey } from './keys'
import { markLine, type NamespaceState, newToken, parseState, versionPart } from './namespace-state'
import { type MemcachedStorageOptions, resolveOptions } from './options'
import { type Call, createRunner } from './run'
import { toExptime } from './ttl'

const NAME = 'memcached'
// Namespaces whose version this process remembers (as a hint, or trusted for versionCacheMs); oldest dropped first.
const MAX_REMEMBERED_NAMESPACES = 10_000
// The version key is read on every operation: past this size, clear(namespace, keyPrefix) clears the whole
// namespace (starting a new, short version value) instead of appending one more line.
const MAX_STATE_CHARS = 2048

interface Remembered {
  readonly state: NamespaceState
  readonly at: number
}

/** What a check of the namespace version against a speculative attempt yields. */
type Attempt<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown }

function asText(raw: unknown): string {
  if (typeof raw === 'string') return raw
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')
  throw new CodecError(`the memcached client returned a ${typeof raw} where a string or Buffer was expected`)
}

/**
 * A memcached storage over your own client. Entries live at `<prefix>:<namespace>:<version>:<key>` (hashed with
 * SHA-256 when longer than 250 bytes or unsafe for memcached); `clear` changes the namespace version instead of
 * flushing the server. TTLs go to memcached in whole seconds, rounded up; reads also check the entry's ms expiry.
 * Every operation is bounded by `operationTimeoutMs` and fails with a StorageError naming the server (the
 * client's `server`). Unknown or invalid options throw a ConfigError before anything is sent.
 *
 * @example
 * import memjs from 'memjs'
 * const storage = memcachedStorage({ client: fromMemjs(memjs.Client.create('127.0.0.1:11211')) })
 */
export function memcachedStorage(options: MemcachedStorageOptions): AsyncStorage {
  const { client, escapedPrefix, operationTimeoutMs, versionCacheMs } = resolveOptions(options)
  const codec = resolveCodec(options.codec, 'memcachedStorage')
  const where = client.server ?? 'memcached'
  const scope = `${client.server === undefined ? objectLabel('memcached-client', client) : `memcached://${client.server}`} ${escapedPrefix}:`
  const remembered = new Map<string, Remembered>()
  // Bumped when a clear of this storage starts and ends; an operation that saw it change remembers nothing.
  let clearEpoch = 0
  const run = createRunner(where, operationTimeoutMs)
  // A write reads the namespace version before it stores: one issued before a delete or clear could otherwise land
  // after it (under the version the clear just started, or on the key just deleted). Invalidations wait for them.
  const writes = createWriteTracker()

  const versionKey = (ns: string): string =>
    toMemcachedKey(`${escapedPrefix}:${escapeKeyPart(ns)}:~version`, escapedPrefix)
  const entryKey = (ns: string, state: NamespaceState, key: string): string =>
    toMemcachedKey(`${escapedPrefix}:${escapeKeyPart(ns)}:${versionPart(state, key)}:${key}`, escapedPrefix)

  const remember = (ns: string, state: NamespaceState): void => {
    remembered.delete(ns)
    remembered.set(ns, { state, at: Date.now() })
    if (remembered.size > MAX_REMEMBERED_NAMESPACES) {
      const oldest = remembered.keys().next()
      if (!oldest.done) remembered.delete(oldest.value)
    }
  }

  const settle = <R>(promise: Promise<R>): Promise<Attempt<R>> =>
    promise.then(
      (value) => ({ ok: true, value }) as const,
      (error: unknown) => ({ ok: false, error }) as const,
    )

  // Creates the namespace version when it is absent (never written, or evicted: a fresh random version then
  // keeps the entries written under the old one out of reach), or replaces a value that isn't a version.
  const createState = async (call: Call, vKey: string, raw: unknown): Promise<NamespaceState> => {
    const fresh = newToken()
    if (raw === null || raw === undefined) {
      if (await call(() => client.add(vKey, fresh, 0))) return parseState(fresh) as NamespaceState
      // Another caller created it first: use theirs, so concurrent first writes land on one version.
      const theirs = await call(() => client.get(vKey))
      const state = theirs === null || theirs === undefined ? undefined : parseState(asText(theirs))
      if (state !== undefined) return state
    }
    // Not a version (or gone again at once): start a new one; entries under whatever was there become unreachable.
    await call(() => client.set(vKey, fresh, 0))
    return parseState(fresh) as NamespaceState
  }

  /**
   * Runs `action` with the namespace's current state. A get may trust a remembered state for versionCacheMs and
   * run once. Otherwise `action` runs speculatively with the remembered state in parallel with reading the version
   * key, and again with the read state if they differ (a speculative write then lands under a dead version:
   * unreachable, left to LRU). Writes never trust a remembered state: a delete or add under a version another
   * replica has replaced would miss the live entry. Resolves `undefined`, without running `action`, when the
   * namespace has no version and `mode` isn't `'write'`: nothing was written there since it was created or evicted.
   */
  const withState = async <R>(
    call: Call,
    ns: string,
    mode: 'get' | 'read' | 'write',
    action: (state: NamespaceState) => Promise<R>,
    // Reads the version key and runs the speculative action in one command (multi-get), when there is one.
    combined?: (vKey: string, hint: NamespaceState) => Promise<[unknown, R]>,
  ): Promise<R | undefined> => {
    const epoch = clearEpoch
    const known = remembered.get(ns)
    if (mode === 'get' && known !== undefined && versionCacheMs > 0 && Date.now() - known.at < versionCacheMs) {
      return action(known.state)
    }
    const vKey = versionKey(ns)
    const hint = known?.state
    let raw: unknown
    let speculative: Attempt<R> | undefined
    if (hint === undefined) raw = await call(() => client.get(vKey))
    else if (combined !== undefined) {
      const [vRaw, value] = await combined(vKey, hint)
      raw = vRaw
      speculative = { ok: true, value }
    } else [raw, speculative] = await Promise.all([call(() => client.get(vKey)), settle(action(hint))])
    let state = raw === null || raw === undefined ? undefined : parseState(asText(raw))
    if (state === undefined) {
      if (mode !== 'write') {
        remembered.delete(ns)
        return undefined
      }
      state = await createState(call, vKey, raw)
    }
    if (epoch === clearEpoch) remember(ns, state)
    if (speculative !== undefined && hint !== undefined && hint.raw === state.raw) {
      if (speculative.ok) return speculative.value
      throw speculative.error
    }
    return action(state)
  }

  const getMulti = client.getMulti?.bind(client)

  // get and delete: the entry under the namespace's current state, read with the version in one round trip.
  const readEntry = (
    call: Call,
    ns: string,
    key: string,
    mode: 'get' | 'read',
  ): Promise<{ mKey: string; raw: unknown } | undefined> =>
    withState(
      call,
      ns,
      mode,
      async (state) => {
        const mKey = entryKey(ns, state, key)
        return { mKey, raw: await call(() => client.get(mKey)) }
      },
      getMulti === undefined
        ? undefined
        : async (vKey, hint) => {
            const mKey = entryKey(ns, hint, key)
            const values = await call(() => getMulti([vKey, mKey]))
            return [values[0], { mKey, raw: values[1] }]
          },
    )

  // getMany: all entries under the namespace's current state. With getMulti, one command (the version key first,
  // when it must be read); memjs has none, so then concurrent gets, which its one connection pipelines.
  const readMany = (call: Call, ns: string, keys: readonly string[]): Promise<readonly unknown[] | undefined> =>
    withState(
      call,
      ns,
      'get',
      (state) => {
        const mKeys = keys.map((key) => entryKey(ns, state, key))
        return getMulti === undefined
          ? Promise.all(mKeys.map((mKey) => call(() => client.get(mKey))))
          : call(() => getMulti(mKeys))
      },
      getMulti === undefined
        ? undefined
        : async (vKey, hint) => {
            const values = await call(() => getMulti([vKey, ...keys.map((key) => entryKey(ns, hint, key))]))
            return [values[0], values.slice(1)]
          },
    )

  const decodeLive = (raw: unknown): Entry | undefined => {
    if (raw === null || raw === undefined) return undefined
    const entry = codec.decodeEntry(asText(raw))
    // memcached keeps an entry up to a second past its ms expiry (whole seconds, rounded up): check it here.
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) return undefined
    return entry
  }

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

  const rotate = async (call: Call, vKey: string): Promise<NamespaceState> => {
    const fresh = newToken()
    await call(() => client.set(vKey, fresh, 0))
    return parseState(fresh) as NamespaceState
  }

  return {
    async: true,
    name: NAME,
    scope,

    async get(ns, key) {
      return run('get', async (call) => {
        return decodeLive((await readEntry(call, ns, key, 'get'))?.raw)
      })
    },

    async getMany(ns, keys) {
      if (keys.length === 0) return []
      return run('get', async (call) => {
        const raws = await readMany(call, ns, keys)
        return raws === undefined ? keys.map(() => undefined) : raws.map(decodeLive)
      })
    },

    async set(ns, key, value, options) {
      const { payload, exptime } = encode(value, options)
      const write = run(
        'set',
        (call) =>
          withState(call, ns, 'write', (state) => call(() => client.set(entryKey(ns, state, key), payload, exptime))),
        Buffer.byteLength(payload),
      )
      await writes.track(ns, key, write)
    },

    async delete(ns, key) {
      await writes.settledKey(ns, key)
      return run('delete', async (call) => {
        const found = await readEntry(call, ns, key, 'read')
        if (found === undefined || found.raw === null || found.raw === undefined) return false
        let live = false
        try {
          live = decodeLive(found.raw) !== undefined
        } catch (error) {
          // A corrupt payload is no live entry: remove it all the same.
          if (!(error instanceof CodecError)) throw error
        }
        const removed = await call(() => client.delete(found.mKey))
        return live && removed
      })
    },

    async clear(ns, keyPrefix) {
      await writes.settledNamespace(ns, keyPrefix)
      // Operations overlapping this clear must not remember the version they read: it may be the old one.
      clearEpoch++
      remembered.delete(ns)
      let fresh: NamespaceState | undefined
      try {
        await run('clear', async (call) => {
          const vKey = versionKey(ns)
          if (keyPrefix === undefined || keyPrefix === '') {
            fresh = await rotate(call, vKey)
            return
          }
          const raw = await call(() => client.get(vKey))
          // No version: nothing written since the last eviction, so nothing to clear.
          if (raw === null || raw === undefined) return
          const state = parseState(asText(raw))
          if (state === undefined || state.raw.length > MAX_STATE_CHARS) {
            fresh = await rotate(call, vKey)
            return
          }
          // append is atomic: concurrent clears of different prefixes can't drop each other's lines.
          await call(() => client.append(vKey, markLine(keyPrefix, newToken())))
        })
      } finally {
        clearEpoch++
        // Our own clear counts at once here, whatever versionCacheMs says.
        if (fresh !== undefined) remember(ns, fresh)
        else remembered.delete(ns)
      }
    },

    async add(ns, key, value, options) {
      const { payload, exptime } = encode(value, options)
      const write = run(
        'add',
        async (call) =>
          (await withState(call, ns, 'write', (state) =>
            call(() => client.add(entryKey(ns, state, key), payload, exptime)),
          )) === true,
        Buffer.byteLength(payload),
      )
      return writes.track(ns, key, write)
    },
  }
}
