/**
 * The two file storages: `fileStorage` (promises) and `fileStorageSync`. Each maps the storage members onto the
 * algorithms they share (engine.ts, lease-engine.ts, remove.ts) and its own driver (fs-ops.ts); the options and
 * their checks are in options.ts.
 */
import { type AsyncStorage, MemokitError, type SetOptions, type Storage, type StorageOp } from '@memokit/core'
import { createWriteTracker, resolveEntryTtl, storageFailure } from '@memokit/core/backend'
import { addTask, type Ctx, encode, getTask, setTask } from './engine'
import { asyncOps, syncOps } from './fs-ops'
import { runAsync, runSync, type Task } from './io'
import { entryPaths } from './layout'
import { clearLeasedTask, deleteLeasedTask, pruneLeaseTask } from './lease-engine'
import { type LeaseMember, leaseCalls } from './lease-members'
import { type FileStorageOptions, prepare } from './options'
import { pruneTask } from './remove'

export type { FileStorageOptions } from './options'

/** Members both file storages add to the storage contract. */
interface FileStorageExtras<Count> {
  /** The absolute cache directory. */
  readonly dir: string
  /**
   * Removes this prefix's expired entry and lease files, temp files older than `tempFileMaxAgeMs`, stale lock
   * files and leftovers of interrupted clears. Returns the number of files removed (directories of interrupted clears are
   * not counted). Reads every entry's header: run it from a timer or a cron job, not on a hot path.
   */
  prune(): Count
}

/** The async file storage returned by {@link fileStorage}. */
export interface FileStorage
  extends Omit<AsyncStorage, LeaseMember>,
    Required<Pick<AsyncStorage, LeaseMember>>,
    FileStorageExtras<Promise<number>> {
  /** `file://<dir>?prefix=<prefix>`: storages with the same scope (same `dir` and `prefix`) share entries. */
  readonly scope: string
  /** Atomic across processes sharing `dir` (a hard link that fails if the entry exists). Always present. */
  add(namespace: string, key: string, value: unknown, options?: SetOptions): Promise<boolean>
}
/** The sync file storage returned by {@link fileStorageSync}. */
export interface FileStorageSync
  extends Omit<Storage, LeaseMember>,
    Required<Pick<Storage, LeaseMember>>,
    FileStorageExtras<number> {
  /** `file://<dir>?prefix=<prefix>`: storages with the same scope (same `dir` and `prefix`) share entries. */
  readonly scope: string
  /** Atomic across processes sharing `dir` (a hard link that fails if the entry exists). Always present. */
  add(namespace: string, key: string, value: unknown, options?: SetOptions): boolean
}

const NAME = 'file'

/** Lets memokit's own errors through (a CodecError is a miss to core) and wraps the rest as a StorageError. */
function storageError(error: unknown, op: StorageOp, where: string): Error {
  if (error instanceof MemokitError) return error
  return storageFailure(NAME, op, where, error)
}

/** An entry file's contents (engine.ts `encode`), a codec failure passed on as the other members' failures are. */
function encodedIn(ctx: Ctx) {
  return (op: StorageOp, where: string, ns: string, key: string, value: unknown, opts?: SetOptions): string => {
    try {
      return encode(ctx, ns, key, value, opts)
    } catch (error) {
      throw storageError(error, op, where)
    }
  }
}

/**
 * A storage that keeps entries as files under `dir`, answering with promises (`node:fs/promises`).
 * Entries survive restarts and are shared by every process using the same `dir` and `prefix`.
 * Writes are atomic (temp file + rename), `add` is atomic across processes (hard link), expired files are
 * removed when read and by `prune()`. `delete` and `clear` wait for the writes this storage object has already
 * started on what they remove, so a value written just before an invalidation never lands after it. The lease
 * members are atomic across processes on this machine (README, "Leases").
 *
 * @example
 * const storage = fileStorage({ dir: '.cache/memokit' })
 */
export function fileStorage(options: FileStorageOptions): FileStorage {
  const { dir, prefixDir, scope, ctx } = prepare(options, 'fileStorage')
  const encoded = encodedIn(ctx)
  const writes = createWriteTracker()
  const leases = leaseCalls(prefixDir, ctx)
  const run = async <T>(op: StorageOp, where: string, task: Task<T>, after?: Promise<void>): Promise<T> => {
    try {
      if (after !== undefined) await after
      return await runAsync(task, asyncOps)
    } catch (error) {
      throw storageError(error, op, where)
    }
  }
  return {
    async: true,
    name: NAME,
    scope,
    dir,
    get(ns, key) {
      const p = entryPaths(prefixDir, ns, key)
      return run('get', p.nsDir, getTask(p, ctx, ns, key))
    },
    // A set or add goes after the key's writes already started: fs calls run concurrently, so an older value
    // still being written (a larger file) would otherwise be renamed over the newer one and served until its ttl.
    // The file's contents are made now, from the value as it is at the call.
    async set(ns, key, value, opts) {
      resolveEntryTtl(NAME, opts?.ttl)
      const p = entryPaths(prefixDir, ns, key)
      const content = encoded('set', p.nsDir, ns, key, value, opts)
      return writes.track(ns, key, run('set', p.nsDir, setTask(p, content), writes.settledKey(ns, key)))
    },
    async add(ns, key, value, opts) {
      resolveEntryTtl(NAME, opts?.ttl)
      const p = entryPaths(prefixDir, ns, key)
      const content = encoded('add', p.nsDir, ns, key, value, opts)
      return writes.track(ns, key, run('add', p.nsDir, addTask(p, ctx, ns, key, content), writes.settledKey(ns, key)))
    },
    // Taking a lease and the fenced write are tracked like writes: a delete or clear issued after them removes them.
    async acquireLease(ns, key, token, ttl) {
      return writes.track(ns, key, run('acquireLease', ...leases.acquire(ns, key, token, ttl)))
    },
    async releaseLease(ns, key, token) {
      return run('releaseLease', ...leases.release(ns, key, token))
    },
    async extendLease(ns, key, token, ttl) {
      return writes.track(ns, key, run('extendLease', ...leases.extend(ns, key, token, ttl)))
    },
    async setIfLeased(ns, key, value, token, opts) {
      return writes.track(ns, key, run('setIfLeased', ...leases.setIfLeased(ns, key, value, token, opts)))
    },
    delete(ns, key) {
      const p = entryPaths(prefixDir, ns, key)
      return run('delete', p.nsDir, deleteLeasedTask(p, ctx, ns, key), writes.settledKey(ns, key))
    },
    clear(ns, keyPrefix) {
      const p = entryPaths(prefixDir, ns, '')
      return run('clear', p.nsDir, clearLeasedTask(p, ctx, ns, keyPrefix), writes.settledNamespace(ns, keyPrefix))
    },
    prune() {
      return run('clear', prefixDir, pruneTask(prefixDir, ctx, pruneLeaseTask))
    },
  }
}

/**
 * The same storage as {@link fileStorage}, answering synchronously (`node:fs` sync calls), so a sync function
 * cached on disk stays sync. Both kinds read and write the same files: they can share a `dir`.
 *
 * @example
 * const storage = fileStorageSync({ dir: '.cache/memokit' })
 */
export function fileStorageSync(options: FileStorageOptions): FileStorageSync {
  const { dir, prefixDir, scope, ctx } = prepare(options, 'fileStorageSync')
  const encoded = encodedIn(ctx)
  const leases = leaseCalls(prefixDir, ctx)
  const run = <T>(op: StorageOp, where: string, task: Task<T>): T => {
    try {
      return runSync(task, syncOps)
    } catch (error) {
      throw storageError(error, op, where)
    }
  }
  return {
    async: false,
    name: NAME,
    scope,
    dir,
    get(ns, key) {
      const p = entryPaths(prefixDir, ns, key)
      return run('get', p.nsDir, getTask(p, ctx, ns, key))
    },
    set(ns, key, value, opts) {
      resolveEntryTtl(NAME, opts?.ttl)
      const p = entryPaths(prefixDir, ns, key)
      run('set', p.nsDir, setTask(p, encoded('set', p.nsDir, ns, key, value, opts)))
    },
    add(ns, key, value, opts) {
      resolveEntryTtl(NAME, opts?.ttl)
      const p = entryPaths(prefixDir, ns, key)
      return run('add', p.nsDir, addTask(p, ctx, ns, key, encoded('add', p.nsDir, ns, key, value, opts)))
    },
    acquireLease: (ns, key, token, ttl) => run('acquireLease', ...leases.acquire(ns, key, token, ttl)),
    releaseLease: (ns, key, token) => run('releaseLease', ...leases.release(ns, key, token)),
    extendLease: (ns, key, token, ttl) => run('extendLease', ...leases.extend(ns, key, token, ttl)),
    setIfLeased: (ns, key, value, token, opts) =>
      run('setIfLeased', ...leases.setIfLeased(ns, key, value, token, opts)),
    delete(ns, key) {
      const p = entryPaths(prefixDir, ns, key)
      return run('delete', p.nsDir, deleteLeasedTask(p, ctx, ns, key))
    },
    clear(ns, keyPrefix) {
      const p = entryPaths(prefixDir, ns, '')
      run('clear', p.nsDir, clearLeasedTask(p, ctx, ns, keyPrefix))
    },
    prune() {
      return run('clear', prefixDir, pruneTask(prefixDir, ctx, pruneLeaseTask))
    },
  }
}
