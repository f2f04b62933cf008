import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  type AsyncStorage,
  type Codec,
  ConfigError,
  MemokitError,
  resolveCodec,
  type SetOptions,
  type Storage,
  StorageError,
  type StorageOp,
} from '@memokit/core'
import {
  type AsyncFsOps,
  addTask,
  type Ctx,
  clearTask,
  deleteTask,
  type FsOps,
  getTask,
  pruneTask,
  runAsync,
  runSync,
  setTask,
  type Task,
} from './engine'
import { encodeDirName, entryPaths } from './layout'

/** Options of {@link fileStorage} and {@link fileStorageSync}. */
export interface FileStorageOptions {
  /**
   * The cache directory; created (with parents) on the first write. Resolved to an absolute path once, when the
   * storage is created. Several processes may share it.
   * @example '/var/cache/my-service'
   */
  readonly dir: string
  /**
   * Separates caches sharing `dir`: entries live under `${dir}/<encoded prefix>/`. Default: `'memokit'`.
   * @example 'billing-v2'
   */
  readonly prefix?: string
  /** Turns entries into file contents. Default: `createCodec()` from `@memokit/core`. */
  readonly codec?: Codec
  /**
   * Age in ms after which `prune()` treats a temp file as a crashed write's leftover and removes it.
   * Default: 60,000 (a minute; a write takes milliseconds).
   */
  readonly tempFileMaxAgeMs?: number
}

/** Members both file storages add to the storage contract. */
interface FileStorageExtras<Count> {
  /** The absolute cache directory. */
  readonly dir: string
  /**
   * Removes this prefix's expired entry files, temp files older than `tempFileMaxAgeMs`, stale lock files and
   * leftovers of interrupted clears. Returns the number of files removed (directories of interrupted clears are
   * not counted). Reads every entry's header: run it from a timer or a cron job, not on a hot path.
   */
  prune(): Count
}

/** The async file storage returned by {@link fileStorage}. */
export interface FileStorage extends AsyncStorage, FileStorageExtras<Promise<number>> {
  /** Atomic across processes sharing `dir` (a hard link that fails if the entry exists). Always present. */
  add(namespace: string, key: string, value: unknown, options?: SetOptions): Promise<boolean>
}
/** The sync file storage returned by {@link fileStorageSync}. */
export interface FileStorageSync extends Storage, FileStorageExtras<number> {
  /** Atomic across processes sharing `dir` (a hard link that fails if the entry exists). Always present. */
  add(namespace: string, key: string, value: unknown, options?: SetOptions): boolean
}

const code = (error: unknown): unknown => (error as { code?: unknown } | null)?.code

const syncOps: FsOps = {
  read(path) {
    try {
      return fs.readFileSync(path, 'utf8')
    } catch (error) {
      if (code(error) === 'ENOENT') return undefined
      throw error
    }
  },
  create(path, data) {
    try {
      fs.writeFileSync(path, data, { flag: 'wx' })
      return 'ok'
    } catch (error) {
      if (code(error) === 'EEXIST') return 'exists'
      if (code(error) === 'ENOENT') return 'nodir'
      throw error
    }
  },
  mkdirp(path) {
    fs.mkdirSync(path, { recursive: true })
  },
  rename(from, to) {
    try {
      fs.renameSync(from, to)
      return true
    } catch (error) {
      if (code(error) === 'ENOENT') return false
      throw error
    }
  },
  link(from, to) {
    try {
      fs.linkSync(from, to)
      return 'ok'
    } catch (error) {
      if (code(error) === 'EEXIST') return 'exists'
      if (code(error) === 'ENOENT') return 'nodir'
      throw error
    }
  },
  unlink(path) {
    try {
      fs.unlinkSync(path)
      return true
    } catch (error) {
      if (code(error) === 'ENOENT') return false
      throw error
    }
  },
  unlinkQuietly(path) {
    try {
      fs.unlinkSync(path)
    } catch {
      // Cleanup only: the operation's own outcome is what gets reported.
    }
  },
  removeTree(path) {
    fs.rmSync(path, { recursive: true, force: true })
  },
  list(path) {
    try {
      return fs.readdirSync(path)
    } catch (error) {
      if (code(error) === 'ENOENT') return []
      throw error
    }
  },
  mtime(path) {
    try {
      return fs.statSync(path).mtimeMs
    } catch (error) {
      if (code(error) === 'ENOENT') return undefined
      throw error
    }
  },
  sleep(ms) {
    // Blocks only this thread, without spinning: the sync storage's callers expect it to block.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
  },
}

const asyncOps: AsyncFsOps = {
  async read(path) {
    try {
      return await fsp.readFile(path, 'utf8')
    } catch (error) {
      if (code(error) === 'ENOENT') return undefined
      throw error
    }
  },
  async create(path, data) {
    try {
      await fsp.writeFile(path, data, { flag: 'wx' })
      return 'ok'
    } catch (error) {
      if (code(error) === 'EEXIST') return 'exists'
      if (code(error) === 'ENOENT') return 'nodir'
      throw error
    }
  },
  async mkdirp(path) {
    await fsp.mkdir(path, { recursive: true })
  },
  async rename(from, to) {
    try {
      await fsp.rename(from, to)
      return true
    } catch (error) {
      if (code(error) === 'ENOENT') return false
      throw error
    }
  },
  async link(from, to) {
    try {
      await fsp.link(from, to)
      return 'ok'
    } catch (error) {
      if (code(error) === 'EEXIST') return 'exists'
      if (code(error) === 'ENOENT') return 'nodir'
      throw error
    }
  },
  async unlink(path) {
    try {
      await fsp.unlink(path)
      return true
    } catch (error) {
      if (code(error) === 'ENOENT') return false
      throw error
    }
  },
  async unlinkQuietly(path) {
    await fsp.unlink(path).catch(() => undefined)
  },
  async removeTree(path) {
    await fsp.rm(path, { recursive: true, force: true })
  },
  async list(path) {
    try {
      return await fsp.readdir(path)
    } catch (error) {
      if (code(error) === 'ENOENT') return []
      throw error
    }
  },
  async mtime(path) {
    try {
      return (await fsp.stat(path)).mtimeMs
    } catch (error) {
      if (code(error) === 'ENOENT') return undefined
      throw error
    }
  },
  sleep: (ms) =>
    new Promise<void>((done) => {
      setTimeout(done, ms)
    }),
}

interface Prepared {
  readonly dir: string
  readonly prefixDir: string
  readonly ctx: Ctx
}

function prepare(options: FileStorageOptions, entry: string): Prepared {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options', `${entry}() needs an options object with at least { dir }`)
  }
  const { dir, prefix = 'memokit', tempFileMaxAgeMs = 60_000 } = options
  if (typeof dir !== 'string' || dir === '') {
    throw new ConfigError('dir', `${entry}(): dir must be a non-empty path string, got ${String(dir)}`)
  }
  if (typeof prefix !== 'string') {
    throw new ConfigError('prefix', `${entry}(): prefix must be a string, got ${typeof prefix}`)
  }
  const codec = resolveCodec(options.codec, `${entry}()`)
  if (!(Number.isFinite(tempFileMaxAgeMs) && tempFileMaxAgeMs > 0)) {
    throw new ConfigError(
      'tempFileMaxAgeMs',
      `${entry}(): tempFileMaxAgeMs must be a positive number of ms, got ${String(tempFileMaxAgeMs)}`,
    )
  }
  const absolute = resolve(dir)
  return {
    dir: absolute,
    prefixDir: resolve(absolute, encodeDirName(prefix)),
    ctx: { prefix, codec, tempFileMaxAgeMs },
  }
}

const NAME = 'file'

/** Lets codec errors through (core treats them as misses) and wraps everything else as a StorageError. */
function storageError(error: unknown, op: StorageOp, where: string): Error {
  if (error instanceof MemokitError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new StorageError(`file storage: ${op} failed in ${where}: ${message}`, { storage: NAME, op }, { cause: error })
}

function checkTtl(ttl: number | undefined): void {
  if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) {
    throw new ConfigError('ttl', `file storage: ttl must be a positive number of ms or undefined, got ${String(ttl)}`)
  }
}

/**
 * A storage that keeps entries as files under `dir`, answering with promises (`node:fs/promises`).
 * Entries survive restarts and are shared by every process using the same `dir` and `prefix`.
 * Writes are atomic (temp file + rename), `add` is atomic across processes (hard link), expired files are
 * removed when read and by `prune()`.
 *
 * @example
 * const storage = fileStorage({ dir: '.cache/memokit' })
 */
export function fileStorage(options: FileStorageOptions): FileStorage {
  const { dir, prefixDir, ctx } = prepare(options, 'fileStorage')
  const run = async <T>(op: StorageOp, where: string, task: Task<T>): Promise<T> => {
    try {
      return await runAsync(task, asyncOps)
    } catch (error) {
      throw storageError(error, op, where)
    }
  }
  return {
    async: true,
    name: NAME,
    dir,
    get(ns, key) {
      const p = entryPaths(prefixDir, ns, key)
      return run('get', p.nsDir, getTask(p, ctx, ns, key))
    },
    async set(ns, key, value, opts) {
      checkTtl(opts?.ttl)
      const p = entryPaths(prefixDir, ns, key)
      return run('set', p.nsDir, setTask(p, ctx, ns, key, value, opts))
    },
    async add(ns, key, value, opts) {
      checkTtl(opts?.ttl)
      const p = entryPaths(prefixDir, ns, key)
      return run('add', p.nsDir, addTask(p, ctx, ns, key, value, opts))
    },
    delete(ns, key) {
      const p = entryPaths(prefixDir, ns, key)
      return run('delete', p.nsDir, deleteTask(p, ctx, ns, key))
    },
    clear(ns, keyPrefix) {
      const p = entryPaths(prefixDir, ns, '')
      return run('clear', p.nsDir, clearTask(p, ns, keyPrefix))
    },
    prune() {
      return run('clear', prefixDir, pruneTask(prefixDir, ctx))
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
  const { dir, prefixDir, ctx } = prepare(options, 'fileStorageSync')
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
    dir,
    get(ns, key) {
      const p = entryPaths(prefixDir, ns, key)
      return run('get', p.nsDir, getTask(p, ctx, ns, key))
    },
    set(ns, key, value, opts) {
      checkTtl(opts?.ttl)
      const p = entryPaths(prefixDir, ns, key)
      run('set', p.nsDir, setTask(p, ctx, ns, key, value, opts))
    },
    add(ns, key, value, opts) {
      checkTtl(opts?.ttl)
      const p = entryPaths(prefixDir, ns, key)
      return run('add', p.nsDir, addTask(p, ctx, ns, key, value, opts))
    },
    delete(ns, key) {
      const p = entryPaths(prefixDir, ns, key)
      return run('delete', p.nsDir, deleteTask(p, ctx, ns, key))
    },
    clear(ns, keyPrefix) {
      const p = entryPaths(prefixDir, ns, '')
      run('clear', p.nsDir, clearTask(p, ns, keyPrefix))
    },
    prune() {
      return run('clear', prefixDir, pruneTask(prefixDir, ctx))
    },
  }
}
