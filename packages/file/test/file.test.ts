import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, jest } from '@jest/globals'
import { CodecError, ConfigError, cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import { type FileStorageOptions, fileStorage, fileStorageSync } from '@memokit/file'
import { LOCK_STALE_MS } from '../src/engine'
import { encodeDirName, keyFileName } from '../src/layout'

const root = fs.mkdtempSync(join(tmpdir(), 'memokit-file-'))
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true })
})

const rand = () => randomBytes(6).toString('hex')
const freshDir = () => join(root, rand())
const repoRoot = join(__dirname, '..', '..', '..')
const child = join(__dirname, 'fixtures', 'child.ts')

/** Where an entry's file lives: the layout is part of the package's documented behaviour. */
const entryFile = (dir: string, prefix: string, ns: string, key: string) =>
  join(dir, encodeDirName(prefix), encodeDirName(ns), keyFileName(key))

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

function startChild(command: object): ChildProcess {
  // cwd = repo root, so tsx maps @memokit/* to the sources through the root tsconfig.
  return spawn(process.execPath, ['--import', 'tsx', child, JSON.stringify(command)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

function runChild(command: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const proc = startChild(command)
    let out = ''
    let err = ''
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
    })
    proc.stderr?.on('data', (c: Buffer) => {
      err += c.toString()
    })
    proc.on('error', reject)
    proc.on('close', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}: ${err}`))
      else resolve(JSON.parse(out.trim().split('\n').pop() as string))
    })
  })
}

function captureError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('options', () => {
  it.each<[string, FileStorageOptions]>([
    ['dir', { dir: '' }],
    ['dir', { dir: 42 as unknown as string }],
    ['prefix', { dir: 'x', prefix: 1 as unknown as string }],
    ['codec', { dir: 'x', codec: {} as never }],
    ['tempFileMaxAgeMs', { dir: 'x', tempFileMaxAgeMs: 0 }],
    ['tempFileMaxAgeMs', { dir: 'x', tempFileMaxAgeMs: Number.NaN }],
  ])('rejects a bad %s with a ConfigError before touching the disk', (option, options) => {
    for (const factory of [fileStorage, fileStorageSync]) {
      const error = captureError(() => factory(options))
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).option).toBe(option)
    }
  })

  it('rejects a ttl that is not a positive number', async () => {
    const dir = freshDir()
    const sync = fileStorageSync({ dir })
    expect(captureError(() => sync.set('n', 'k', 1, { ttl: Number.NaN }))).toBeInstanceOf(ConfigError)
    await expect(fileStorage({ dir }).set('n', 'k', 1, { ttl: -5 })).rejects.toBeInstanceOf(ConfigError)
    expect(fs.existsSync(dir)).toBe(false)
  })

  it('resolves dir to an absolute path once', () => {
    const storage = fileStorageSync({ dir: 'relative/cache' })
    expect(storage.dir).toBe(join(process.cwd(), 'relative/cache'))
  })
})

describe('layout', () => {
  it('creates a missing dir (with parents) on the first write', async () => {
    const dir = join(freshDir(), 'a', 'b', 'c')
    const storage = fileStorage({ dir, prefix: 'p' })
    await storage.set('ns', 'k', 1)
    expect(fs.existsSync(entryFile(dir, 'p', 'ns', 'k'))).toBe(true)
  })

  it('stores prefix, namespace and key inside the file, and leaves no temp file behind', () => {
    const dir = freshDir()
    const storage = fileStorageSync({ dir, prefix: 'pre' })
    storage.set('user:x', 'fn:["a"]', 'value')
    const file = entryFile(dir, 'pre', 'user:x', 'fn:["a"]')
    const text = fs.readFileSync(file, 'utf8')
    expect(text.split('\n')[1]).toBe(JSON.stringify(['pre', 'user:x', 'fn:["a"]', null]))
    expect(fs.readdirSync(join(dir, encodeDirName('pre'), encodeDirName('user:x')))).toEqual([keyFileName('fn:["a"]')])
  })

  it('returns a miss, not a wrong value, when a file holds another key (hash collision or misplaced file)', async () => {
    const dir = freshDir()
    const storage = fileStorage({ dir, prefix: 'p' })
    await storage.set('ns', 'a', 'value of a')
    await storage.set('ns', 'b', 'value of b')
    fs.copyFileSync(entryFile(dir, 'p', 'ns', 'a'), entryFile(dir, 'p', 'ns', 'b'))
    expect(await storage.get('ns', 'b')).toBeUndefined()
    expect((await storage.get('ns', 'a'))?.value).toBe('value of a')
    // add treats the foreign file as not ours and replaces it.
    expect(await storage.add('ns', 'b', 'new b')).toBe(true)
    expect((await storage.get('ns', 'b'))?.value).toBe('new b')
  })

  it('keeps namespaces differing only in case in different directories', () => {
    const dir = freshDir()
    const storage = fileStorageSync({ dir, prefix: 'p' })
    storage.set('User', 'k', 'upper')
    storage.set('user', 'k', 'lower')
    const names = fs.readdirSync(join(dir, encodeDirName('p')))
    expect(names).toHaveLength(2)
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(2)
    expect(storage.get('User', 'k')?.value).toBe('upper')
    expect(storage.get('user', 'k')?.value).toBe('lower')
  })

  it('handles namespaces and prefixes longer than a file name allows', () => {
    const dir = freshDir()
    const long = 'ü'.repeat(2000)
    const storage = fileStorageSync({ dir, prefix: long })
    storage.set(long, 'k', 1)
    storage.set(`${long}x`, 'k', 2)
    expect(storage.get(long, 'k')?.value).toBe(1)
    expect(storage.get(`${long}x`, 'k')?.value).toBe(2)
    storage.clear(long)
    expect(storage.get(long, 'k')).toBeUndefined()
    expect(storage.get(`${long}x`, 'k')?.value).toBe(2)
  })

  it('reads in the sync storage what the async one wrote, and the other way round', async () => {
    const dir = freshDir()
    const a = fileStorage({ dir })
    const s = fileStorageSync({ dir })
    await a.set('ns', 'from-async', new Map([[1, 'x']]))
    s.set('ns', 'from-sync', 10n)
    expect(s.get('ns', 'from-async')?.value).toEqual(new Map([[1, 'x']]))
    expect((await a.get('ns', 'from-sync'))?.value).toBe(10n)
  })
})

describe('across processes', () => {
  it('hits in a new process what an earlier process wrote, and the other way round', async () => {
    const dir = freshDir()
    const prefix = `p-${rand()}`
    await runChild({ op: 'set', dir, prefix, ns: 'n', keys: ['from-child'] })
    const here = fileStorage({ dir, prefix })
    const entry = await here.get('n', 'from-child')
    expect(entry?.value).toEqual({ key: 'from-child', when: new Date(1_700_000_000_000), tags: new Set(['a']) })

    fileStorageSync({ dir, prefix }).set('n', 'from-parent', {
      key: 'from-parent',
      when: new Date(1_700_000_000_000),
      tags: new Set(['a']),
    })
    for (const sync of [true, false]) {
      const read = await runChild({ op: 'get', dir, prefix, ns: 'n', keys: ['from-parent', 'absent'], sync })
      expect(read).toEqual({ 'from-parent': { key: 'from-parent', when: '2023-11-14T22:13:20.000Z', tags: ['a'] } })
    }
  }, 60_000)

  it('lets exactly one process win each add, also over expired entries', async () => {
    const dir = freshDir()
    const prefix = `p-${rand()}`
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
    // Half the keys hold an expired entry: add must replace it, still with a single winner.
    const seed = fileStorageSync({ dir, prefix })
    for (const key of keys.slice(0, 15)) seed.set('n', key, 'stale', { ttl: 1 })
    await sleep(5)
    const results = (await Promise.all(
      [true, false, true, false].map((sync) => runChild({ op: 'add-race', dir, prefix, ns: 'n', keys, sync })),
    )) as string[][]
    const wins = results.flat().sort()
    expect(wins).toEqual([...keys].sort())
    for (const key of keys) expect(typeof seed.get('n', key)?.value).toBe('number')
  }, 60_000)

  it('never leaves a torn file when a writer is killed mid-write', async () => {
    const dir = freshDir()
    const prefix = `p-${rand()}`
    const proc = startChild({ op: 'write-loop', dir, prefix, ns: 'n', keys: ['big'] })
    await new Promise<void>((resolve, reject) => {
      proc.stdout?.once('data', () => resolve())
      proc.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)))
    })
    await sleep(300)
    proc.kill('SIGKILL')
    await new Promise((done) => proc.once('exit', done))
    const entry = await fileStorage({ dir, prefix }).get('n', 'big')
    expect(entry).toBeDefined()
    const value = entry?.value as { i: number; blob: string; end: number }
    expect(value.end).toBe(value.i)
    expect(value.blob).toBe(String.fromCharCode(97 + (value.i % 26)).repeat(2_000_000))
  }, 60_000)
})

describe('crash leftovers and expiry on disk', () => {
  it('ignores a half-written temp file and prune removes it once old', async () => {
    const dir = freshDir()
    const storage = fileStorage({ dir, prefix: 'p', tempFileMaxAgeMs: 10_000 })
    await storage.set('ns', 'k', 'whole')
    const file = entryFile(dir, 'p', 'ns', 'k')
    const leftover = `${file}.dead-0000.tmp`
    fs.writeFileSync(leftover, fs.readFileSync(file, 'utf8').slice(0, 20))
    expect((await storage.get('ns', 'k'))?.value).toBe('whole')
    expect(await storage.prune()).toBe(0)
    expect(fs.existsSync(leftover)).toBe(true)
    const old = new Date(Date.now() - 20_000)
    fs.utimesSync(leftover, old, old)
    expect(await storage.prune()).toBe(1)
    expect(fs.existsSync(leftover)).toBe(false)
    expect((await storage.get('ns', 'k'))?.value).toBe('whole')
  })

  it('reports a truncated entry file as a CodecError, and a write repairs it', async () => {
    const dir = freshDir()
    const storage = fileStorage({ dir, prefix: 'p' })
    await storage.set('ns', 'k', { a: 'x'.repeat(100) })
    const file = entryFile(dir, 'p', 'ns', 'k')
    const text = fs.readFileSync(file, 'utf8')
    for (const cut of [3, 10, text.indexOf('\n', 6) + 5, text.length - 1]) {
      fs.writeFileSync(file, text.slice(0, cut))
      await expect(storage.get('ns', 'k')).rejects.toBeInstanceOf(CodecError)
      expect(captureError(() => fileStorageSync({ dir, prefix: 'p' }).get('ns', 'k'))).toBeInstanceOf(CodecError)
    }
    await storage.set('ns', 'k', 'repaired')
    expect((await storage.get('ns', 'k'))?.value).toBe('repaired')
  })

  it('removes an expired file when it is read', async () => {
    const dir = freshDir()
    const storage = fileStorageSync({ dir, prefix: 'p' })
    storage.set('ns', 'k', 'v', { ttl: 20 })
    const file = entryFile(dir, 'p', 'ns', 'k')
    expect(fs.existsSync(file)).toBe(true)
    await sleep(30)
    expect(storage.get('ns', 'k')).toBeUndefined()
    expect(fs.existsSync(file)).toBe(false)
  })

  it('treats an entry whose expiresAt is now as expired: get, delete and add in both storages, and prune', async () => {
    const dir = freshDir()
    const sync = fileStorageSync({ dir, prefix: 'p' })
    const async = fileStorage({ dir, prefix: 'p' })
    const written = Date.now()
    const expiresAt = written + 60_000
    const clock = jest.spyOn(Date, 'now').mockReturnValue(written)
    try {
      for (const k of ['a', 'b', 'c', 'd']) sync.set('ns', k, k, { ttl: 60_000 })
      clock.mockReturnValue(expiresAt)
      expect(sync.get('ns', 'a')).toBeUndefined()
      expect(await async.get('ns', 'b')).toBeUndefined()
      expect(sync.delete('ns', 'c')).toBe(false)
      expect(await async.add('ns', 'd', 'added')).toBe(true)
      expect(sync.get('ns', 'd')?.value).toBe('added')
      sync.set('ns', 'e', 'e', { ttl: 1 })
      clock.mockReturnValue(expiresAt + 1)
      expect(sync.prune()).toBe(1)
    } finally {
      clock.mockRestore()
    }
  })

  it('prune removes expired entries, stale locks and unfinished clears, and keeps live entries', async () => {
    const dir = freshDir()
    const storage = fileStorage({ dir, prefix: 'p' })
    const other = fileStorage({ dir, prefix: 'other' })
    for (let i = 0; i < 5; i++) await storage.set(`ns${i % 2}`, `expiring${i}`, i, { ttl: 20 })
    await storage.set('ns0', 'live', 'stays', { ttl: 60_000 })
    await storage.set('ns1', 'forever', 'stays')
    await other.set('ns0', 'other-prefix', 'untouched', { ttl: 20 })
    const lock = `${entryFile(dir, 'p', 'ns0', 'live')}.lock`
    fs.writeFileSync(lock, '1')
    const old = new Date(Date.now() - LOCK_STALE_MS - 1000)
    fs.utimesSync(lock, old, old)
    const trash = join(dir, encodeDirName('p'), '.trash-crashed')
    fs.mkdirSync(trash)
    fs.writeFileSync(join(trash, 'x'), 'x')
    await sleep(30)
    expect(await storage.prune()).toBe(6)
    expect(fs.existsSync(lock)).toBe(false)
    expect(fs.existsSync(trash)).toBe(false)
    expect((await storage.get('ns0', 'live'))?.value).toBe('stays')
    expect((await storage.get('ns1', 'forever'))?.value).toBe('stays')
    // Another prefix is another cache: its expired file stays until it prunes (or reads) it.
    expect(fs.existsSync(entryFile(dir, 'other', 'ns0', 'other-prefix'))).toBe(true)
    expect(fileStorageSync({ dir, prefix: 'p' }).prune()).toBe(0)
  })

  it('add breaks a lock left by a crashed process, but waits for a live one', async () => {
    const dir = freshDir()
    const storage = fileStorage({ dir, prefix: 'p' })
    await storage.set('ns', 'k', 'expired', { ttl: 1 })
    await sleep(5)
    const lock = `${entryFile(dir, 'p', 'ns', 'k')}.lock`
    fs.writeFileSync(lock, '1')
    // A fresh lock: its holder is replacing the entry right now, so add cannot decide and says so.
    const error = await storage.add('ns', 'k', 'mine').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).op).toBe('add')
    const old = new Date(Date.now() - LOCK_STALE_MS - 1000)
    fs.utimesSync(lock, old, old)
    expect(await storage.add('ns', 'k', 'mine')).toBe(true)
    expect((await storage.get('ns', 'k'))?.value).toBe('mine')
    expect(fs.existsSync(lock)).toBe(false)
  })
})

describe('clear on disk', () => {
  it('removes only the namespace directory, and leaves no trash behind', async () => {
    const dir = freshDir()
    const storage = fileStorage({ dir, prefix: 'p' })
    await storage.set('a*', 'k', 1)
    await storage.set('ab', 'k', 2)
    await storage.set('a', 'k', 3)
    await storage.clear('a*')
    const prefixDir = join(dir, encodeDirName('p'))
    expect(fs.readdirSync(prefixDir).sort()).toEqual([encodeDirName('a'), encodeDirName('ab')].sort())
    expect((await storage.get('ab', 'k'))?.value).toBe(2)
  })

  it('with a keyPrefix removes only the matching files', () => {
    const dir = freshDir()
    const storage = fileStorageSync({ dir, prefix: 'p' })
    for (const key of ['fn:1', 'fn:2', 'fn2:1', 'other:1']) storage.set('ns', key, key)
    storage.clear('ns', 'fn:')
    const files = fs.readdirSync(join(dir, encodeDirName('p'), encodeDirName('ns'))).sort()
    expect(files).toEqual([keyFileName('fn2:1'), keyFileName('other:1')].sort())
  })

  it('lets writes racing a clear land whole, before or after it', async () => {
    const dir = freshDir()
    const storage = fileStorage({ dir, prefix: 'p' })
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
    await Promise.all([
      ...keys.map((k) => storage.set('ns', k, k)),
      storage.clear('ns'),
      ...keys.map((k) => storage.set('ns', `${k}b`, k)),
      storage.clear('ns'),
    ])
    for (const k of keys) {
      for (const key of [k, `${k}b`]) {
        const entry = await storage.get('ns', key)
        if (entry !== undefined) expect(entry.value).toBe(k)
      }
    }
    const names = fs.readdirSync(join(dir, encodeDirName('p')))
    expect(names.filter((n) => n.startsWith('.trash-'))).toEqual([])
  })
})

describe('failures', () => {
  // Tests run as root, where permissions don't stop writes: a path under a regular file is a real fault anyway.
  const blockedDir = () => {
    const file = join(freshDir())
    fs.mkdirSync(join(file, '..'), { recursive: true })
    fs.writeFileSync(file, 'not a directory')
    return join(file, 'cache')
  }

  it('turns an I/O failure into a StorageError with op, storage name and cause', async () => {
    const dir = blockedDir()
    const storage = fileStorage({ dir })
    for (const [op, run] of [
      ['set', () => storage.set('ns', 'k', 1)],
      ['add', () => storage.add('ns', 'k', 1)],
      ['get', () => storage.get('ns', 'k')],
      ['delete', () => storage.delete('ns', 'k')],
      ['clear', () => storage.clear('ns')],
    ] as const) {
      const error = await (run as () => Promise<unknown>)().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StorageError)
      expect(error).toMatchObject({ op, storage: 'file', code: 'E_STORAGE' })
      expect(((error as StorageError).cause as NodeJS.ErrnoException).code).toBe('ENOTDIR')
    }
    const sync = fileStorageSync({ dir })
    const error = captureError(() => sync.set('ns', 'k', 1))
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ op: 'set', storage: 'file' })
  })

  it('lets core fail open and report the failure through onError', async () => {
    const reports: ErrorReport[] = []
    let calls = 0
    const cached = cacheValue(
      async (n: number) => {
        calls++
        return n * 2
      },
      { storage: fileStorage({ dir: blockedDir() }), onError: (r) => reports.push(r), name: 'double' },
    )
    expect(await cached(21)).toBe(42)
    expect(calls).toBe(1)
    expect(reports.length).toBeGreaterThan(0)
    expect(reports[0]?.error).toBeInstanceOf(StorageError)
    expect(reports[0]?.storage).toBe('file')
  })

  it('caches a sync function on disk and stays sync', () => {
    let calls = 0
    const cached = cacheValue(
      (n: number) => {
        calls++
        return { n, at: new Date(0) }
      },
      { storage: fileStorageSync({ dir: freshDir() }), name: 'sync-fn' },
    )
    const first = cached(1)
    expect(first).not.toBeInstanceOf(Promise)
    expect(cached(1)).toEqual({ n: 1, at: new Date(0) })
    expect(calls).toBe(1)
  })
})
