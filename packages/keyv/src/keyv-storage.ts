import { type AsyncStorage, CodecError, type Entry, type SetOptions, StorageError, type StorageOp } from '@memokit/core'
import { createWriteTracker, hasLoneSurrogate, resolveEntryTtl, storageClosed } from '@memokit/core/backend'
import { createClosing } from './closing'
import { createGenerations, type Located } from './generations'
import { keyLayout } from './keys'
import { checkKeyv, type KeyvLike } from './keyv-like'
import { listKeys } from './listing'
import { type KeyvStorageOptions, resolveOptions } from './options'
import { placeOf } from './place'
import { type Call, createRunner, landed, NAME } from './run'
import { guardStoreNamespace } from './store-namespace'

// Keys deleted per Keyv call while a clear walks the iterator.
const DELETE_BATCH = 100

/** The storage {@link keyvStorage} returns: an `AsyncStorage` (without `add`) whose `scope` and `close` are present. */
export interface KeyvStorage extends AsyncStorage {
  /** Where the storage writes: the Keyv store's place, its namespace, the prefix and the clear mode. */
  readonly scope: string
  /**
   * Waits for the operations already issued, then resolves; later calls reject at once with a StorageError
   * without calling the Keyv, and memokit's background retries of failed clears on this storage end (each reported
   * once as not retried). It does not disconnect your Keyv, which may serve other code: after it, call
   * `await keyv.disconnect()` yourself. Calling it again resolves once the first call has.
   */
  close(): Promise<void>
}

/**
 * A memokit storage over a Keyv 5 instance: any Keyv store (the cache-manager ecosystem: `@keyv/redis`, Keyv's
 * in-memory Map, SQL, Mongo, memcached, ...) as an `AsyncStorage`. Entries are memokit codec strings, so Keyv's own
 * serializer only ever sees a string; TTLs go to Keyv in ms (rounded up), and reads also check the entry's exact
 * expiry. `clear` lists the Keyv namespace with its iterator, or changes a per-namespace version on stores that
 * can't list (see `clearBy`). There is no `add`: Keyv has no atomic set-if-absent. Every operation is bounded by
 * `operationTimeoutMs` and fails with a StorageError naming the store; bad options throw a ConfigError first.
 * `close()` ends the storage but leaves your Keyv connected: disconnect it yourself afterwards.
 *
 * @example
 * import KeyvRedis from '@keyv/redis'
 * import Keyv from 'keyv'
 * const storage = keyvStorage(new Keyv({ store: new KeyvRedis('redis://127.0.0.1:6379'), throwOnErrors: true }))
 */
export function keyvStorage(keyv: KeyvLike, options?: KeyvStorageOptions): KeyvStorage {
  const store = checkKeyv(keyv)
  const { escapedPrefix, codec, operationTimeoutMs, clearBy } = resolveOptions(store, options)
  // Before anything else is derived from the store's namespace (the place, the scope).
  const checked = guardStoreNamespace(store)
  const place = placeOf(store)
  const layout = keyLayout(escapedPrefix)
  const runner = createRunner(store, place.where, operationTimeoutMs)
  // Every Keyv call goes through these two: after close() none is made (it would reconnect a disconnected store).
  const closing = createClosing()
  const run = closing.guard(checked(runner.run))
  const runSteps = closing.guard(checked(runner.runSteps))
  const generations = clearBy === 'generation' ? createGenerations(store, layout) : undefined
  // A write reads the namespace version (generation mode) before it stores, and Keyv hands calls to a store that
  // may reorder them (a pool): an invalidation, and a set, wait for the writes of what they touch this storage
  // already issued, until the store answered them (a call that timed out for its caller may still land).
  const writes = createWriteTracker()

  const checkKey = (namespace: string, key: string, op: StorageOp): void => {
    // Most Keyv stores hold UTF-8 (Redis, SQL, Mongo), where every lone surrogate becomes U+FFFD.
    if (hasLoneSurrogate(namespace) || hasLoneSurrogate(key)) {
      throw new StorageError(
        'keyv cannot store a namespace or key with a lone UTF-16 surrogate: in a UTF-8 store it would collide with other keys',
        { storage: NAME, op },
      )
    }
  }

  const decodeLive = (raw: unknown): Entry | undefined => {
    if (raw === undefined || raw === null) return undefined
    if (typeof raw !== 'string') {
      throw new CodecError(
        `the Keyv store returned ${typeof raw} where memokit wrote a string: the key holds a value memokit didn't write`,
      )
    }
    const entry = codec.decodeEntry(raw)
    // Keyv's own expiry check (and the store's) may run a moment later than ours: never return an expired entry.
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) return undefined
    return entry
  }

  const encode = (value: unknown, options: SetOptions | undefined): { payload: string; ttl: number | undefined } => {
    const ttl = resolveEntryTtl(NAME, options?.ttl)
    const createdAt = Date.now()
    const expiresAt = ttl === undefined ? undefined : createdAt + ttl
    const meta = options?.meta
    const payload = codec.encodeEntry(
      meta === undefined ? { value, createdAt, expiresAt } : { value, createdAt, expiresAt, meta },
    )
    // Redis' PX and most stores take whole ms; rounding up keeps the store's copy at least as long as ours.
    return { payload, ttl: ttl === undefined ? undefined : Math.ceil(ttl) }
  }

  const readAt = async (call: Call, physical: string): Promise<Entry | undefined> =>
    decodeLive(await call(() => store.get(physical)))
  const locate = async (call: Call, physical: string): Promise<Located> => ({
    physical,
    raw: await call(() => store.get(physical)),
  })

  // Iterator mode: lists the Keyv namespace and deletes the keys in range, a batch per call.
  const clearByIterator = (namespace: string, keyPrefix: string, after: Promise<unknown> | undefined): Promise<void> =>
    runSteps(
      'clear',
      async (call) => {
        const start = layout.range(namespace, keyPrefix)
        const listing = listKeys(store)
        let batch: string[] = []
        const flush = async (): Promise<void> => {
          if (batch.length === 0) return
          const keys = batch
          batch = []
          // false only says some key was gone already (expired, or deleted meanwhile); failures throw or emit.
          await call(() => store.deleteMany(keys))
        }
        try {
          for (;;) {
            const step = await call(() => listing.next())
            if (step.done === true) break
            const key = step.value
            if (typeof key === 'string' && key.startsWith(start)) batch.push(key)
            if (batch.length >= DELETE_BATCH) await flush()
          }
          await flush()
        } finally {
          listing.return?.().catch(() => undefined)
        }
      },
      { after },
    )

  const storage: KeyvStorage = {
    async: true,
    name: NAME,
    scope: `keyv ${place.where} ${place.keyPrefix}${escapedPrefix}: (clearBy ${clearBy})`,

    async get(namespace, key) {
      checkKey(namespace, key, 'get')
      return run('get', async (call) => {
        if (generations === undefined) return readAt(call, layout.entry(namespace, key))
        return decodeLive((await generations.locate(call, namespace, key))?.raw)
      })
    },

    async set(namespace, key, value, options) {
      checkKey(namespace, key, 'set')
      const { payload, ttl } = encode(value, options)
      const sent: Promise<unknown>[] = []
      let physical: string | undefined
      const body = async (call: Call): Promise<void> => {
        physical =
          generations === undefined ? layout.entry(namespace, key) : await generations.writeKey(call, namespace, key)
        const target = physical
        if (!(await call(() => store.set(target, payload, ttl)))) {
          throw new Error("Keyv's set returned false (the store failed)")
        }
      }
      // After the key's earlier writes: a set that timed out for its caller must not land after this newer one.
      const write = run('set', body, { after: writes.settledKey(namespace, key), sent })
      // Tracked until the store answered, or two more operationTimeoutMs after the caller's failure (so an
      // invalidation issued right after it still times out rather than overtake it): a store call that is never
      // answered must not block the key's writes and invalidations for good. One answered after that may have landed
      // after such an invalidation: its key is deleted again (a miss at worst, never the old value kept).
      const removeLate = (): void => {
        const target = physical
        if (target !== undefined) run('delete', (call) => call(() => store.delete(target))).catch(() => undefined)
      }
      void writes.track(namespace, key, landed(write, sent, 2 * operationTimeoutMs, removeLate))
      await write
    },

    async delete(namespace, key) {
      checkKey(namespace, key, 'delete')
      const after = writes.settledKey(namespace, key)
      return run(
        'delete',
        async (call) => {
          const located =
            generations === undefined
              ? await locate(call, layout.entry(namespace, key))
              : await generations.locate(call, namespace, key)
          // No namespace state: nothing was written to the namespace since it was created, cleared or lost.
          if (located === undefined) return false
          const { physical, raw } = located
          let live = false
          try {
            live = decodeLive(raw) !== undefined
          } catch (error) {
            // A corrupt payload is no live entry: remove it all the same.
            if (!(error instanceof CodecError)) throw error
          }
          const removed = await call(() => store.delete(physical))
          return live && removed
        },
        { after },
      )
    },

    async clear(namespace, keyPrefix = '') {
      checkKey(namespace, keyPrefix, 'clear')
      const after = writes.settledNamespace(namespace, keyPrefix)
      if (generations === undefined) return clearByIterator(namespace, keyPrefix, after)
      return run(
        'clear',
        (call) =>
          keyPrefix === '' ? generations.rotate(call, namespace) : generations.clearPrefix(call, namespace, keyPrefix),
        { after },
      )
    },

    close() {
      // First: a background clear retry must not start while the operations in flight finish.
      storageClosed(storage)
      return closing.close()
    },
  }
  return storage
}
