/**
 * The file-system primitives the storage algorithms (engine.ts) run on: once with `node:fs` sync calls, once with
 * `node:fs/promises`. Expected races (a missing or existing file) are results, not errors.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import type { AsyncFsOps, FsOps } from './io'

const code = (error: unknown): unknown => (error as { code?: unknown } | null)?.code

export const syncOps: FsOps = {
  read(path) {
    try {
      return fs.readFileSync(path, 'utf8')
    } catch (error) {
      if (code(error) === 'ENOENT') return undefined
      throw error
    }
  },
  create(path, data) {
    let fd: number
    try {
      fd = fs.openSync(path, 'wx')
    } catch (error) {
      if (code(error) === 'EEXIST') return 'exists'
      if (code(error) === 'ENOENT') return 'nodir'
      throw error
    }
    try {
      fs.writeFileSync(fd, data)
      fs.closeSync(fd)
    } catch (error) {
      // Ours, and partial: a full disk (ENOSPC, EDQUOT, EFBIG) must not keep what did fit until a prune.
      try {
        fs.closeSync(fd)
      } catch {
        // Closed already, or failing too: the unlink below is what matters.
      }
      syncOps.unlinkQuietly(path)
      throw error
    }
    return 'ok'
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

export const asyncOps: AsyncFsOps = {
  async read(path) {
    try {
      return await fsp.readFile(path, 'utf8')
    } catch (error) {
      if (code(error) === 'ENOENT') return undefined
      throw error
    }
  },
  async create(path, data) {
    let handle: fsp.FileHandle
    try {
      handle = await fsp.open(path, 'wx')
    } catch (error) {
      if (code(error) === 'EEXIST') return 'exists'
      if (code(error) === 'ENOENT') return 'nodir'
      throw error
    }
    try {
      await handle.writeFile(data)
      await handle.close()
    } catch (error) {
      // Ours, and partial: a full disk (ENOSPC, EDQUOT, EFBIG) must not keep what did fit until a prune.
      await handle.close().catch(() => undefined)
      await fsp.unlink(path).catch(() => undefined)
      throw error
    }
    return 'ok'
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
