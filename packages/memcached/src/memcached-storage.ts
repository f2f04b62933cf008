import {
  type AsyncStorage,
  type Codec,
  CodecError,
  ConfigError,
  type Entry,
  escapeKeyPart,
  resolveCodec,
  type SetOptions,
  StorageError,
  type StorageOp,
} from '@memokit/core'
import { toMemcachedKey } from './keys'
import { markLine, type NamespaceState, newToken, parseState, versionPart } from './namespace-state'
import { toExptime } from './ttl'

/**
 * The five memcached commands memokit needs, as promises. Every memcached client has them: use `fromMemjs` /
 * `fromMemcacheClient`, or write a 10-line adapter for any other client (see the README).
 *
 * Keys passed in are always valid memcached keys: at most 250 bytes of UTF-8, no spaces or control characters.
 * `exptime` is passed through to memcached as is: `0` = no expiry, up to 2,592,000 = seconds from now, above =
 * an absolute Unix time in seconds (memokit converts). A failure (connection, server error) must reject; a
 * command that simply didn't apply (key present for `add`, absent for `append`/`delete`) resolves `false`.
 */
export interface MemcachedClient {
  /** `get`: the stored bytes (a UTF-8 string or a Buffer), or `null`/`undefined` when the key is absent. */
  get(key: string): Promise<string | Buffer | null | undefined>
  /** `set`: stores unconditionally. Resolves when stored; rejects otherwise (e.g. a value over the item size). */
  set(key: string, value: string, exptime: number): Promise<void>
  /**
   * `add`: stores only if the key is absent; `true` if stored, `false` if the key was present. Backs
   * `storage.add`, and lets concurrent first writers of a namespace agree on one namespace version.
   */
  add(key: string, value: string, exptime: number): Promise<boolean>
  /**
   * `append`: appends to an existing value; `true` if appended, `false` if the key was absent. Backs
   * `clear(namespace, keyPrefix)`: concurrent clears of different prefixes can't overwrite each other's marks.
   */
  append(key: string, value: string): Promise<boolean>
  /** `delete`: `true` if the key was there and is now gone, `false` if it was absent. */
  delete(key: string): Promise<boolean>
  /**
   * Optional multi-key `get`: the values in the order of `keys` (`null`/`undefined` for absent ones). When
   * present, a read fetches the namespace version and the entry in one command; otherwise in two pipelined `get`s.
   */
  getMulti?(keys: readonly string[]): Promise<ReadonlyArray<string | Buffer | null | undefined>>
}

/** Options of {@link memcachedStorage}. */
export interface MemcachedStorageOptions {
  /**
   * Your memcached client behind the {@link MemcachedClient} interface: `fromMemjs(memjsClient)`,
   * `fromMemcacheClient(memcacheClient)` or your own adapter. memokit never closes it.
   */
  readonly client: MemcachedClient
  /**
   * First part of every key, so several apps can share a server. Printable ASCII without spaces, at most 64
   * characters once `%` and `:` are escaped. Default: `'memokit'`.
   * @example 'billing-api'
   */
  readonly prefix?: string
  /** Encodes entries into strings. Default: `createCodec()` from `@memokit/core`. */
  readonly codec?: Codec
  /**
   * Longest time one storage operation (all its round trips) may take before it fails with a StorageError, in
   * ms. Default: 1000: far above a healthy server's sub-millisecond latency, short enough that a dead or hung
   * server delays a call by at most a second before core runs the function itself.
   */
  readonly operationTimeoutMs?: number
  /**
   * How long `get` trusts a namespace version read from memcached without reading it again, in ms. Default: 0:
   * every operation reads it (in the same round trip as the entry, see the README), so a `clear` by any replica
   * takes effect on the next call everywhere. With N > 0, a hit reads one key instead of two, but another
   * replica's `clear` may go unseen by this replica's reads for up to N ms (its own clears count at once).
   * `set`, `add` and `delete` always read the version, so they never act on a replaced one.
   * @example 1000
   */
  readonly versionCacheMs?: number
}

/** Default of `operationTimeoutMs`: 1000 ms. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 1000

const NAME = 'memcached'
const PREFIX_CHARS = /^[\x21-\x7e]*$/
const MAX_PREFIX_LENGTH = 64
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

type Call = <R>(start: () => Promise<R>) => Promise<R>

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function validate(options: MemcachedStorageOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options', 'memcachedStorage needs an options object: memcachedStorage({ client })')
  }
  const { client, prefix, operationTimeoutMs, versionCacheMs } = options
  const c = client as unknown as Record<string, unknown> | null | undefined
  if (c === null || typeof c !== 'object') {
    throw new ConfigError(
      'client',
      'memcachedStorage needs a client: fromMemjs(memjs.Client.create(...)), fromMemcacheClient(new MemcacheClient(...)) or your own MemcachedClient',
    )
  }
  const missing = ['get', 'set', 'add', 'append', 'delete'].filter((m) => typeof c[m] !== 'function')
  if (missing.length > 0) {
    throw new ConfigError(
      'client',
      `client lacks ${missing.join(', ')}: wrap your memcached client with fromMemjs() or fromMemcacheClient(), or write an adapter (see MemcachedClient)`,
    )
  }
  if (c.getMulti !== undefined && typeof c.getMulti !== 'function') {
    throw new ConfigError('client', `client.getMulti must be a function or absent, got ${typeof c.getMulti}`)
  }
  if (prefix !== undefined) {
    const escaped = typeof prefix === 'string' ? escapeKeyPart(prefix) : ''
    if (typeof prefix !== 'string' || !PREFIX_CHARS.test(escaped) || escaped.length > MAX_PREFIX_LENGTH) {
      throw new ConfigError(
        'prefix',
        `prefix must be printable ASCII without spaces, at most ${MAX_PREFIX_LENGTH} characters, got ${JSON.stringify(prefix)}`,
      )
    }
  }
  if (
    operationTimeoutMs !== undefined &&
    !(typeof operationTimeoutMs === 'number' && Number.isFinite(operationTimeoutMs) && operationTimeoutMs > 0)
  ) {
    throw new ConfigError(
      'operationTimeoutMs',
      `operationTimeoutMs must be a positive, finite number of milliseconds, got ${String(operationTimeoutMs)}`,
    )
  }
  if (
    versionCacheMs !== undefined &&
    !(typeof versionCacheMs === 'number' && Number.isFinite(versionCacheMs) && versionCacheMs >= 0)
  ) {
    throw new ConfigError(
      'versionCacheMs',
      `versionCacheMs must be a finite number of milliseconds >= 0 (0 = read the namespace version on every call), got ${String(versionCacheMs)}`,
    )
  }
}

function checkTtl(options: SetOptions | undefined): number | undefined {
  const ttl = options?.ttl
  if (ttl === undefined) return undefined
  if (!(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
    throw new ConfigError('ttl', `ttl must be a positive, finite number of milliseconds, got ${String(ttl)}`)
  }
  return ttl
}

function asText(raw: unknown): string {
  if (typeof raw === 'string') return raw
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')
  throw new CodecError(`the memcached client returned a ${typeof raw} where a string or Buffer was expected`)
}

/**
 * A memcached storage over your own client. Entries live at `<prefix>:<namespace>:<version>:<key>` (hashed with
 * SHA-256 when longer than 250 bytes or unsafe for memcached); `clear` changes the namespace version instead of
 * flushing the server. TTLs go to memcached in whole seconds, rounded up; reads also check the entry's ms expiry.
 * Every operation is bounded by `operationTimeoutMs` and fails with a StorageError.
 *
 * @example
 * import memjs from 'memjs'
 * const storage = memcachedStorage({ client: fromMemjs(memjs.Client.create('127.0.0.1:11211')) })
 */
export function memcachedStorage(options: MemcachedStorageOptions): AsyncStorage {
  validate(options)
  const codec = resolveCodec(options.codec, 'memcachedStorage')
  const { client, prefix = 'memokit', operationTimeoutMs = DEFAULT_OPERATION_TIMEOUT_MS, versionCacheMs = 0 } = options
  const escapedPrefix = escapeKeyPart(prefix)
  const remembered = new Map<string, Remembered>()
  // Bumped when a clear of this storage starts and ends; an operation that saw it change remembers nothing.
  let clearEpoch = 0

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

  const fail = (op: StorageOp, error: unknown, valueBytes: number | undefined): Error => {
    if (error instanceof StorageError || error instanceof CodecError) return error
    const message = describeError(error)
    if (valueBytes !== undefined && /too large|too big|E2BIG/i.test(message)) {
      return new StorageError(
        `memcached ${op} failed: the server refused a ${valueBytes}-byte entry as larger than its item size limit (1 MB unless memcached runs with -I); cache a smaller value or raise the limit (${message})`,
        { storage: NAME, op },
        { cause: error },
      )
    }
    return new StorageError(`memcached ${op} failed: ${message}`, { storage: NAME, op }, { cause: error })
  }

  // One deadline per storage operation, shared by all its round trips. After it passes, the operation rejects and
  // no further command is sent; late replies are dropped (their rejections are handled, nothing leaks).
  const run = async <T>(op: StorageOp, body: (call: Call) => Promise<T>, valueBytes?: number): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    let timedOut = false
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true
        reject(
          new StorageError(
            `memcached ${op} timed out after ${operationTimeoutMs} ms (operationTimeoutMs): the server is slow, hung or unreachable`,
            { storage: NAME, op },
          ),
        )
      }, operationTimeoutMs)
    })
    const call: Call = <R>(start: () => Promise<R>): Promise<R> => {
      if (timedOut) return deadline
      let pending: Promise<R>
      try {
        pending = Promise.resolve(start())
      } catch (error) {
        return Promise.reject(fail(op, error, valueBytes))
      }
      return Promise.race([
        pending.then(undefined, (error: unknown) => {
          throw fail(op, error, valueBytes)
        }),
        deadline,
      ])
    }
    const work = body(call)
    try {
      return await Promise.race([work, deadline])
    } finally {
      clearTimeout(timer)
      work.catch(() => undefined)
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

  const decodeLive = (raw: unknown): Entry | undefined => {
    if (raw === null || raw === undefined) return undefined
    const entry = codec.decodeEntry(asText(raw))
    // memcached keeps an entry up to a second past its ms expiry (whole seconds, rounded up): check it here.
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) return undefined
    return entry
  }

  const encode = (value: unknown, options: SetOptions | undefined): { payload: string; exptime: number } => {
    const ttl = checkTtl(options)
    const now = Date.now()
    const payload = codec.encodeEntry({ value, createdAt: now, expiresAt: ttl === undefined ? undefined : now + ttl })
    return { payload, exptime: toExptime(ttl, now) }
  }

  const rotate = async (call: Call, vKey: string): Promise<NamespaceState> => {
    const fresh = newToken()
    await call(() => client.set(vKey, fresh, 0))
    return parseState(fresh) as NamespaceState
  }

  return {
    async: true,
    name: NAME,

    async get(ns, key) {
      return run('get', async (call) => {
        return decodeLive((await readEntry(call, ns, key, 'get'))?.raw)
      })
    },

    async set(ns, key, value, options) {
      const { payload, exptime } = encode(value, options)
      await run(
        'set',
        (call) =>
          withState(call, ns, 'write', (state) => call(() => client.set(entryKey(ns, state, key), payload, exptime))),
        Buffer.byteLength(payload),
      )
    },

    async delete(ns, key) {
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
      return run(
        'add',
        async (call) =>
          (await withState(call, ns, 'write', (state) =>
            call(() => client.add(entryKey(ns, state, key), payload, exptime)),
          )) === true,
        Buffer.byteLength(payload),
      )
    },
  }
}
