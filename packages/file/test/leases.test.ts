// The file storage's leases across processes and on disk. The contract suite (contract.test.ts) covers the
// semantics within one process; here separate processes race for the same leases, and the files are checked.
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { ConfigError, createCodec } from '@memokit/core'
import { fileStorage, fileStorageSync } from '@memokit/file'
import { type Ctx, LOCK_STALE_MS } from '../src/engine'
import { syncOps } from '../src/fs-ops'
import type { Task } from '../src/io'
import { encodeDirName, entryPaths } from '../src/layout'
import { extendLeaseTask, setIfLeasedTask } from '../src/lease-engine'
import { LEASE_LOCK_DIR, leasePaths } from '../src/lease-layout'

const root = fs.mkdtempSync(join(tmpdir(), 'memokit-file-leases-'))
const children = new Set<ChildProcess>()
afterAll(() => {
  for (const child of children) child.kill()
  fs.rmSync(root, { recursive: true, force: true })
})

const rand = () => randomBytes(6).toString('hex')
const token = () => randomBytes(16).toString('hex')
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))
const repoRoot = join(__dirname, '..', '..', '..')

/** Forks a racer (fixtures/lease-child.ts) and resolves once it is ready. */
function racer(command: object): Promise<ChildProcess> {
  const child = fork(join(__dirname, 'fixtures', 'lease-child.ts'), [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.add(child)
  child.on('exit', () => children.delete(child))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`racer exited with ${code} before it was ready`)))
    child.once('message', () => resolve(child))
    child.send(command)
  })
}

/** Sends `step` to every racer at once; resolves with each one's reply. */
function step(racers: readonly ChildProcess[], name: 'acquire' | 'write'): Promise<string[][]> {
  const replies = racers.map(
    (child) =>
      new Promise<string[]>((resolve, reject) => {
        child.once('message', (reply) => {
          if (Array.isArray(reply)) resolve(reply as string[])
          else reject(new Error(`racer failed: ${(reply as { error?: string }).error}`))
        })
      }),
  )
  for (const child of racers) child.send(name)
  return Promise.all(replies)
}

describe('leases across processes', () => {
  it('let exactly one of four processes (two sync, two async) take each lease, and only its write lands', async () => {
    const dir = join(root, rand())
    const prefix = `p-${rand()}`
    const keys = Array.from({ length: 60 }, (_, i) => `fn:${i}`)
    // A third of the keys hold a lapsed lease (replaced under the lock), a third an entry (left alone).
    const seed = fileStorageSync({ dir, prefix })
    for (const key of keys.slice(0, 20)) expect(seed.acquireLease('n', key, token(), 1)).toBe(true)
    for (const key of keys.slice(20, 40)) seed.set('n', key, 'old')
    await sleep(5)
    const tokens = [token(), token(), token(), token()]
    const racers = await Promise.all(
      tokens.map((t, i) => racer({ dir, prefix, ns: 'n', keys, sync: i % 2 === 0, token: t, ttl: 60_000 })),
    )
    const won = await step(racers, 'acquire')
    for (const key of keys) {
      const winners = won.filter((list) => list.includes(key)).length
      expect({ key, winners }).toEqual({ key, winners: 1 })
    }
    // Every racer writes every key with its own token: only the holder's write may land.
    const wrote = await step(racers, 'write')
    expect(wrote.map((list) => [...list].sort())).toEqual(won.map((list) => [...list].sort()))
    for (const [i, list] of won.entries()) {
      for (const key of list) expect(seed.get('n', key)?.value).toEqual({ token: tokens[i], key })
    }
    for (const child of racers) child.kill()
  }, 120_000)
})

describe('leases on disk', () => {
  it('keep the lease beside the entry and its lock outside the namespace; clear and prune remove them', async () => {
    const dir = join(root, rand())
    const storage = fileStorage({ dir, prefix: 'p' })
    const p = entryPaths(join(dir, encodeDirName('p')), 'ns', 'k')
    const l = leasePaths(p, 'ns', 'k')
    expect(await storage.acquireLease('ns', 'k', token(), 60_000)).toBe(true)
    expect(fs.existsSync(l.lease)).toBe(true)
    // The lock is gone once the call returned.
    expect(fs.readdirSync(l.lockDir)).toEqual([])
    expect(fs.readdirSync(p.prefixDir).sort()).toEqual([LEASE_LOCK_DIR, encodeDirName('ns')].sort())
    await storage.clear('ns')
    expect(fs.existsSync(l.lease)).toBe(false)
    expect(await storage.acquireLease('ns', 'k', token(), 1)).toBe(true)
    expect(await storage.acquireLease('ns', 'other', token(), 60_000)).toBe(true)
    await sleep(5)
    expect(await storage.prune()).toBe(1)
    expect(fs.existsSync(l.lease)).toBe(false)
    expect(fs.existsSync(leasePaths(entryPaths(p.prefixDir, 'ns', 'other'), 'ns', 'other').lease)).toBe(true)
  })

  it('wait for a lock another process holds, and break one its crashed holder left', async () => {
    const dir = join(root, rand())
    const storage = fileStorage({ dir, prefix: 'p' })
    const l = leasePaths(entryPaths(join(dir, encodeDirName('p')), 'ns', 'k'), 'ns', 'k')
    fs.mkdirSync(l.lockDir, { recursive: true })
    fs.writeFileSync(l.lock, '1')
    const started = Date.now()
    setTimeout(() => fs.unlinkSync(l.lock), 200)
    expect(await storage.acquireLease('ns', 'k', token(), 60_000)).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    const sync = fileStorageSync({ dir, prefix: 'p' })
    fs.writeFileSync(l.lock, '1')
    const old = new Date(Date.now() - LOCK_STALE_MS - 1000)
    fs.utimesSync(l.lock, old, old)
    expect(sync.delete('ns', 'k')).toBe(false)
    expect(sync.acquireLease('ns', 'k', token(), 60_000)).toBe(true)
    expect(fs.existsSync(l.lock)).toBe(false)
  })

  it('reject a bad token or ttl with a ConfigError before touching the disk', async () => {
    const dir = join(root, rand())
    const sync = fileStorageSync({ dir, prefix: 'p' })
    const error = (() => {
      try {
        sync.acquireLease('ns', 'k', 'short', 1000)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).option).toBe('token')
    await expect(fileStorage({ dir, prefix: 'p' }).extendLease('ns', 'k', token(), 0)).rejects.toMatchObject({
      option: 'ttl',
    })
    expect(fs.existsSync(dir)).toBe(false)
  })
})

/** Runs `task` with sync I/O, calling `interrupt` just before its I/O request number `at`; whether it did. */
function runInterrupted<T>(task: Task<T>, at: number, interrupt: () => void): { result: T; interrupted: boolean } {
  let n = 0
  let interrupted = false
  let step = task.next()
  while (!step.done) {
    if (n++ === at) {
      interrupt()
      interrupted = true
    }
    const { op, args } = step.value
    let result: unknown
    try {
      result = (syncOps[op] as (...a: unknown[]) => unknown)(...(args as unknown[]))
    } catch (error) {
      step = task.throw(error)
      continue
    }
    step = task.next(result)
  }
  return { result: step.value, interrupted }
}

describe('leases racing a clear of their namespace (another process moving the directory away)', () => {
  const ctx = (prefix: string): Ctx => ({ prefix, codec: createCodec(), tempFileMaxAgeMs: 60_000 })

  it('a fenced write interrupted anywhere by clear(ns) never lands after it', () => {
    for (let at = 0; ; at++) {
      const dir = join(root, rand())
      const storage = fileStorageSync({ dir, prefix: 'p' })
      const holder = token()
      expect(storage.acquireLease('ns', 'k', holder, 60_000)).toBe(true)
      const p = entryPaths(join(dir, encodeDirName('p')), 'ns', 'k')
      const task = setIfLeasedTask(p, ctx('p'), 'ns', 'k', 'fenced', holder, undefined)
      const { result, interrupted } = runInterrupted(task, at, () => storage.clear('ns'))
      if (!interrupted) {
        expect(result).toBe(true)
        break
      }
      expect({ at, entry: storage.get('ns', 'k') }).toEqual({ at, entry: undefined })
      expect(storage.acquireLease('ns', 'k', token(), 60_000)).toBe(true)
    }
  })

  it('an extension interrupted anywhere by clear(ns) never brings the lease back', () => {
    for (let at = 0; ; at++) {
      const dir = join(root, rand())
      const storage = fileStorageSync({ dir, prefix: 'p' })
      const holder = token()
      expect(storage.acquireLease('ns', 'k', holder, 60_000)).toBe(true)
      const p = entryPaths(join(dir, encodeDirName('p')), 'ns', 'k')
      const task = extendLeaseTask(p, ctx('p'), 'ns', 'k', holder, 60_000)
      const { result, interrupted } = runInterrupted(task, at, () => storage.clear('ns'))
      if (!interrupted) {
        expect(result).toBe(true)
        break
      }
      expect({ at, taken: storage.acquireLease('ns', 'k', token(), 60_000) }).toEqual({ at, taken: true })
    }
  })
})
