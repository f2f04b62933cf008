// The lease members against redis-servers of our own: one command or script each (counted by the server), the
// scripts loaded again after SCRIPT FLUSH and after a restart (EVALSHA answers NOSCRIPT, EVAL follows once), a hung
// server bounded by operationTimeoutMs, and server errors reported as StorageErrors naming the member.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import { createClient } from 'redis'
import { uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import { disposer, envPort, type RedisProcess, redisCli, startRedisServer } from './servers'

const BASE = envPort('REDIS_LEASE_PORT', 7280)
const cleanup = disposer()
const clients = ioredisClients()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const token = (): string => randomBytes(16).toString('hex')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const LONG = 60_000

let own: RedisProcess
// A server without EVAL and EVALSHA (renamed away), as some managed offerings restrict scripting.
let noScripts: RedisProcess

beforeAll(async () => {
  own = await startRedisServer(BASE)
  noScripts = await startRedisServer(BASE + 2, ['--rename-command', 'EVALSHA', '', '--rename-command', 'EVAL', ''])
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await clients.closeAll()
  await own?.stop()
  await noScripts?.stop()
}, 60_000)

async function commandCounts(port: number): Promise<Map<string, number>> {
  const out = await redisCli(port, 'info', 'commandstats')
  return new Map([...out.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)].map((m) => [m[1] ?? '', Number(m[2])]))
}

// Commands the server ran during `action`, without the INFO calls that measure them.
async function measure(port: number, action: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await commandCounts(port)
  await action()
  const delta: Record<string, number> = {}
  for (const [name, calls] of await commandCounts(port)) {
    const d = calls - (before.get(name) ?? 0)
    if (d > 0 && name !== 'info') delta[name] = d
  }
  return delta
}

const kinds: { name: string; create(prefix: string, operationTimeoutMs?: number): RedisStorage }[] = [
  {
    name: 'node-redis url',
    create: (prefix, operationTimeoutMs) => open({ url: own.url, prefix, operationTimeoutMs }),
  },
  {
    name: 'node-redis own client',
    create: (prefix, operationTimeoutMs) => {
      const client = cleanup.track(createClient({ url: own.url, disableOfflineQueue: true }))
      client.on('error', () => {})
      return open({ client, prefix, operationTimeoutMs })
    },
  },
  {
    name: 'ioredis',
    create: (prefix, operationTimeoutMs) =>
      open({ client: clients.redis(own.url, { enableOfflineQueue: false }), prefix, operationTimeoutMs }),
  },
]

describe.each(kinds)('redis leases on a server of our own ($name)', ({ create }) => {
  it('sends one command or script per member once the server knows the scripts', async () => {
    const storage = create(uid('rt'))
    const t = token()
    // Teaches the server every script (each first call: EVALSHA -> NOSCRIPT -> EVAL).
    await storage.acquireLease('ns', 'warm', t, LONG)
    await storage.extendLease('ns', 'warm', t, LONG)
    await storage.setIfLeased('ns', 'warm', 1, t)
    await storage.releaseLease('ns', 'warm', t)
    await storage.delete('ns', 'warm')
    expect(await measure(own.port, () => storage.acquireLease('ns', 'k', t, LONG))).toEqual({ set: 1 })
    expect(await measure(own.port, () => storage.extendLease('ns', 'k', t, LONG))).toEqual({
      evalsha: 1,
      get: 1,
      pexpire: 1,
    })
    expect(await measure(own.port, () => storage.releaseLease('ns', 'k', t))).toEqual({ evalsha: 1, get: 1, del: 1 })
    await storage.acquireLease('ns', 'k', t, LONG)
    expect(await measure(own.port, () => storage.setIfLeased('ns', 'k', 2, t, { ttl: LONG }))).toEqual({
      evalsha: 1,
      get: 1,
      set: 1,
      del: 1,
    })
    // A refused fenced write reads the lease and writes nothing.
    expect(await measure(own.port, () => storage.setIfLeased('ns', 'k', 3, t))).toEqual({ evalsha: 1, get: 1 })
    expect((await storage.get('ns', 'k'))?.value).toBe(2)
    await storage.clear('ns')
  })

  it('clears in two passes: the first unlinks the leases only, the second the entries', async () => {
    const storage = create(uid('passes'))
    await Promise.all(Array.from({ length: 20 }, (_, i) => storage.set('ns', `k${i}`, i)))
    expect(await storage.acquireLease('ns', 'k0', token(), LONG)).toBe(true)
    expect(await storage.acquireLease('ns', 'other', token(), LONG)).toBe(true)
    // One UNLINK per pass that found keys: a first pass matching nothing, or everything, would leave one.
    const sent = await measure(own.port, () => storage.clear('ns'))
    expect(sent).toEqual({ scan: 2, unlink: 2 })
    expect(await storage.acquireLease('ns', 'k0', token(), LONG)).toBe(true)
    expect(await storage.get('ns', 'k1')).toBeUndefined()
    await storage.clear('ns')
  })

  it('loads its scripts again after SCRIPT FLUSH: EVALSHA answers NOSCRIPT, one EVAL follows', async () => {
    const storage = create(uid('flush'))
    const t = token()
    expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
    expect(await storage.extendLease('ns', 'k', t, LONG)).toBe(true)
    await redisCli(own.port, 'script', 'flush')
    expect(await measure(own.port, () => storage.extendLease('ns', 'k', t, LONG))).toEqual({
      evalsha: 1,
      eval: 1,
      get: 1,
      pexpire: 1,
    })
    await redisCli(own.port, 'script', 'flush')
    expect(await storage.setIfLeased('ns', 'k', 'v', t)).toBe(true)
    expect((await storage.get('ns', 'k'))?.value).toBe('v')
    await redisCli(own.port, 'script', 'flush')
    expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
    expect(await storage.releaseLease('ns', 'k', t)).toBe(true)
    await redisCli(own.port, 'script', 'flush')
    expect(await storage.delete('ns', 'k')).toBe(true)
    expect(await storage.get('ns', 'k')).toBeUndefined()
  })

  it('bounds every member by operationTimeoutMs on a hung server, as a StorageError naming the member', async () => {
    const storage = create(uid('hung'), 300)
    const t = token()
    expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
    own.signal('SIGSTOP')
    try {
      const calls: [string, () => Promise<unknown>][] = [
        ['acquireLease', () => storage.acquireLease('ns', 'k2', t, LONG)],
        ['releaseLease', () => storage.releaseLease('ns', 'k', t)],
        ['extendLease', () => storage.extendLease('ns', 'k', t, LONG)],
        ['setIfLeased', () => storage.setIfLeased('ns', 'k', 1, t)],
        ['delete', () => storage.delete('ns', 'k')],
      ]
      for (const [op, call] of calls) {
        const started = performance.now()
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(StorageError)
        expect(error).toMatchObject({ storage: 'redis', op })
        expect((error as Error).message).toContain('timed out after 300 ms')
        expect(performance.now() - started).toBeLessThan(1500)
      }
    } finally {
      own.signal('SIGCONT')
    }
    // The server still runs what was sent (the timed-out releaseLease among it: the lease is gone); the late replies
    // are dropped, and the storage works on.
    await sleep(50)
    const u = token()
    expect(await storage.acquireLease('ns', 'k', u, LONG)).toBe(true)
    expect(await storage.releaseLease('ns', 'k', u)).toBe(true)
  })
})

describe('redis leases across a restart', () => {
  it('work again after the server restarts (scripts forgotten): node-redis url, own client, ioredis', async () => {
    const storages = kinds.map((kind) => kind.create(uid('restart'), 500))
    const t = token()
    for (const storage of storages) {
      expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
      expect(await storage.releaseLease('ns', 'k', t)).toBe(true)
    }
    own.signal('SIGKILL')
    await own.exited()
    await own.restart()
    for (const storage of storages) {
      // Reconnecting takes a few backoff rounds; each failed try is a StorageError, never a hang.
      const deadline = Date.now() + 15_000
      for (;;) {
        try {
          expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
          break
        } catch (error) {
          expect(error).toBeInstanceOf(StorageError)
          if (Date.now() > deadline) throw error
          await sleep(100)
        }
      }
      expect(await storage.extendLease('ns', 'k', t, LONG)).toBe(true)
      expect(await storage.setIfLeased('ns', 'k', 'after', t)).toBe(true)
      expect((await storage.get('ns', 'k'))?.value).toBe('after')
      expect(await storage.delete('ns', 'k')).toBe(true)
    }
  }, 60_000)
})

describe('redis leases on a server without scripting', () => {
  it('fail with a StorageError naming the member and the server; delete (then without a script), get, set work', async () => {
    const storage = open({ url: noScripts.url, prefix: uid('noscript') })
    const t = token()
    expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
    const error = await storage.releaseLease('ns', 'k', t).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ storage: 'redis', op: 'releaseLease' })
    expect((error as Error).message).toMatch(
      new RegExp(`redis releaseLease on 127\\.0\\.0\\.1:${noScripts.port} failed: .*unknown command`, 'i'),
    )
    await expect(storage.setIfLeased('ns', 'k', 1, t)).rejects.toMatchObject({ op: 'setIfLeased' })
    // Invalidation keeps working: delete unlinks entry and lease without a script, answering for the entry only.
    expect(await storage.delete('ns', 'k')).toBe(false)
    expect(await storage.acquireLease('ns', 'k', token(), LONG)).toBe(true)
    await storage.set('ns', 'k', 1)
    expect(await measure(noScripts.port, () => storage.delete('ns', 'k'))).toEqual({ unlink: 2 })
    expect(await storage.get('ns', 'k')).toBeUndefined()
    expect(await storage.delete('ns', 'k')).toBe(false)
    expect(await storage.acquireLease('ns', 'k', t, LONG)).toBe(true)
  })
})
