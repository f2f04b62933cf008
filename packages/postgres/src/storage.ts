import { type AsyncStorage, CodecError, type SetOptions, StorageError, type StorageOp } from '@memokit/core'
import {
  createWriteTracker,
  describeValue,
  hasLoneSurrogate,
  resolveEntryTtl,
  storageClosed,
  storageFailure,
} from '@memokit/core/backend'
import type { PgQuery, PgQueryResultLike } from './client'
import { type Deadline, withDeadline } from './deadline'
import { type PostgresStorageOptions, resolveOptions } from './options'
import { createPruner } from './prune'
import { CREATE_RACE_CODES, INSUFFICIENT_PRIVILEGE, startsWithPattern, statements, UNDEFINED_TABLE } from './sql'

/** The storage {@link postgresStorage} returns: an `AsyncStorage` whose `add`, `close` and `scope` are always present. */
export interface PostgresStorage extends AsyncStorage {
  /**
   * Where the storage writes, without credentials: `postgres://<host>:<port>/<database>/<table>?prefix=<prefix>`.
   * Storages with the same scope share entries.
   */
  readonly scope: string
  /** Atomic set-if-absent (an expired row counts as absent); resolves to `true` if this call wrote the entry. */
  add(namespace: string, key: string, value: unknown, options?: SetOptions): Promise<boolean>
  /**
   * Stops the pruning job and ends the pool built from `url` (a pool or client you passed stays open). Later
   * calls reject with a StorageError, and memokit's background retries of failed clears on this storage end (each
   * reported once as not retried).
   */
  close(): Promise<void>
}

const NAME = 'postgres'

/** How an operation is ordered against the writes of the same storage object. */
interface Order {
  /** Settles once the writes this operation must follow have settled (an invalidation's, or a write's of its key). */
  readonly after?: Promise<void> | undefined
  /** Namespace and key of a write, tracked until the server has answered it (or its connection was dropped). */
  readonly write?: readonly [string, string]
}

// Tables this process has created or found, by server and table: the next storage on one skips the CREATE.
const ensuredTables = new Set<string>()

const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code

/**
 * A PostgreSQL storage on node-postgres: one row per entry in one table, `(prefix, namespace, key)` as its primary
 * key (all `bytea`), the entry (value, times, meta) as the codec's payload in `value bytea`, and `expires_at`
 * (ms since the epoch) for the SQL: reads skip expired rows, and a background job deletes them in bounded
 * batches. Every operation is bounded by `operationTimeoutMs` and fails with a `StorageError` naming the server.
 * `delete` and `clear` wait for the writes this storage object has already sent of what they remove: a pool may
 * otherwise run them first.
 *
 * @example
 * const storage = postgresStorage({ url: 'postgres://127.0.0.1:5432/app' })
 * const storage2 = postgresStorage({ pool: myPool, table: 'cache.memo', unlogged: true })
 */
export function postgresStorage(options: PostgresStorageOptions): PostgresStorage {
  const resolved = resolveOptions(options)
  const { execute, ownPool, table, prefix, codec, operationTimeoutMs, where } = resolved
  const sql = statements(table, resolved.unlogged)
  const prefixBytes = Buffer.from(prefix, 'utf8')
  const writes = createWriteTracker()
  // A set or add goes after the key's writes already sent: the pool runs them on different connections, so an
  // older value still on its way (a slow statement, a connection still being made) would land after the newer one
  // and be served until its ttl (a `.refresh()` right after a call whose write was slow).
  const writeOrder = (namespace: string, key: string): Order => ({
    write: [namespace, key],
    after: writes.settledKey(namespace, key),
  })
  let closed = false
  let ready: Promise<unknown> | undefined

  // Every operation, table creation included, settles within operationTimeoutMs.
  const bounded = <T>(op: StorageOp, work: (deadline: Deadline) => Promise<T>): Promise<T> =>
    withDeadline(operationTimeoutMs, () => timeoutError(op), work)
  const timeoutError = (op: StorageOp): StorageError => {
    const cause = new Error(`no answer from PostgreSQL within ${operationTimeoutMs} ms`)
    const message = `postgres ${op} on ${where} timed out after ${operationTimeoutMs} ms (operationTimeoutMs)`
    return new StorageError(message, { storage: NAME, op }, { cause })
  }

  // Once per storage and process, under its own deadline (concurrent first calls share it); a failure is retried
  // by the next call.
  const tableReady = (): Promise<unknown> | undefined => {
    if (!resolved.createTable || ensuredTables.has(where)) return undefined
    if (ready === undefined) {
      const create = (deadline: Deadline) =>
        execute({ text: sql.create }, deadline).catch((error: unknown) => {
          // Another session created it between our check and our insert into the catalog: it exists now.
          if (CREATE_RACE_CODES.has(codeOf(error) as string)) return execute({ text: sql.create }, deadline)
          throw error
        })
      const attempt = bounded('connect', create)
      ready = attempt
      attempt.then(
        () => ensuredTables.add(where),
        () => undefined,
      )
      attempt.catch(() => {
        if (ready === attempt) ready = undefined
      })
    }
    return ready
  }

  // The common case (table known, nothing to wait for) sends at once, without an extra turn of the event loop.
  const send = (query: PgQuery, deadline: Deadline, after: Promise<void> | undefined) => {
    const before = tableReady()
    if (before === undefined && after === undefined) return execute(query, deadline)
    return Promise.all([before, after]).then(() => execute(query, deadline))
  }

  const run = (op: StorageOp, query: PgQuery, order?: Order): Promise<PgQueryResultLike> => {
    if (closed) {
      return Promise.reject(
        new StorageError(`postgres storage is closed; ${op} is not possible`, { storage: NAME, op }),
      )
    }
    pruner.start()
    const work = bounded(op, (deadline) => {
      let sent = send(query, deadline, order?.after).catch((error: unknown) => {
        // Dropped since this process created it (or found it): create it again, once.
        if (codeOf(error) !== UNDEFINED_TABLE || !resolved.createTable || deadline.expired) throw error
        ensuredTables.delete(where)
        ready = undefined
        return send(query, deadline, undefined)
      })
      if (order?.write !== undefined) sent = writes.track(order.write[0], order.write[1], sent)
      return sent
    })
    return work.catch((error: unknown) => {
      throw storageFailure(NAME, op, where, error, hintFor(codeOf(error)))
    })
  }

  const hintFor = (code: unknown): string | undefined => {
    if (code === UNDEFINED_TABLE) return `create table ${table.name} (see the README, "Table") or leave createTable on`
    if (code === INSUFFICIENT_PRIVILEGE && resolved.createTable) {
      return `if the database user may not create tables, create ${table.name} as the README's "Table" shows and pass createTable: false`
    }
    return undefined
  }

  const pruner = createPruner(resolved.pruneIntervalMs, resolved.pruneBatchSize, async () => {
    const query = { text: sql.prune, values: [Date.now(), resolved.pruneBatchSize] }
    return (await run('clear', query)).rowCount ?? 0
  })

  // UTF-8 bytes of a namespace or key. Refused: non-strings, and lone surrogates (UTF-8 turns each into U+FFFD,
  // so two different keys would meet on one row).
  const bytes = (op: StorageOp, text: string): Buffer => {
    if (typeof text !== 'string' || hasLoneSurrogate(text)) {
      const what = typeof text === 'string' ? 'a string with a lone UTF-16 surrogate' : describeValue(text)
      throw new StorageError(
        `postgres ${op}: namespace, key and key prefix must be strings without lone UTF-16 surrogates (stored as UTF-8), got ${what}`,
        { storage: NAME, op },
      )
    }
    return Buffer.from(text, 'utf8')
  }

  // The row of a write: the codec's entry payload (checked and encoded before anything is sent) and its expiry.
  const row = (value: unknown, options: SetOptions | undefined): [Buffer, number | null] => {
    const ttl = resolveEntryTtl(NAME, options?.ttl)
    const createdAt = Date.now()
    // Whole ms (a bigint column), and within what a JS number holds exactly.
    const expiresAt = ttl === undefined ? undefined : Math.min(Math.ceil(createdAt + ttl), Number.MAX_SAFE_INTEGER)
    const payload = codec.encodeEntry({ value, createdAt, expiresAt, meta: options?.meta })
    return [Buffer.from(payload, 'utf8'), expiresAt ?? null]
  }

  const storage: PostgresStorage = {
    async: true,
    name: NAME,
    scope: resolved.scope,

    async get(namespace, key) {
      const values = [prefixBytes, bytes('get', namespace), bytes('get', key), Date.now()]
      const result = await run('get', { text: sql.get, values })
      const value = result.rows[0]?.value
      if (value === undefined) return undefined
      if (!Buffer.isBuffer(value)) throw new CodecError(`corrupt postgres row in ${where}: value is not bytea`)
      return codec.decodeEntry(value.toString('utf8'))
    },

    async set(namespace, key, value, options) {
      const values = [prefixBytes, bytes('set', namespace), bytes('set', key), ...row(value, options)]
      await run('set', { text: sql.set, values }, writeOrder(namespace, key))
    },

    async add(namespace, key, value, options) {
      const values = [prefixBytes, bytes('add', namespace), bytes('add', key), ...row(value, options), Date.now()]
      const result = await run('add', { text: sql.add, values }, writeOrder(namespace, key))
      return result.rows.length === 1
    },

    async delete(namespace, key) {
      const values = [prefixBytes, bytes('delete', namespace), bytes('delete', key), Date.now()]
      const after = writes.settledKey(namespace, key)
      const result = await run('delete', { text: sql.delete, values }, { after })
      return result.rows[0]?.live === true
    },

    async clear(namespace, keyPrefix) {
      const ns = bytes('clear', namespace)
      const after = writes.settledNamespace(namespace, keyPrefix)
      if (keyPrefix === undefined || bytes('clear', keyPrefix).length === 0) {
        await run('clear', { text: sql.clear, values: [prefixBytes, ns] }, { after })
        return
      }
      const pattern = Buffer.from(startsWithPattern(keyPrefix), 'utf8')
      await run('clear', { text: sql.clearPrefix, values: [prefixBytes, ns, pattern] }, { after })
    },

    async close() {
      storageClosed(storage)
      if (closed) return
      closed = true
      try {
        await bounded('close', async () => {
          await pruner.stop()
          await ownPool?.end()
        })
      } catch (error) {
        throw storageFailure(NAME, 'close', where, error)
      }
    },
  }
  return storage
}
