import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { mongoStorage } from '@memokit/mongodb'
import { MongoClient } from 'mongodb'
import { closedPort, portFromEnv, type StandIn, standInUrl, startStandIn } from './server'

// Dead and hung servers: these always run against stand-ins this file starts (a real server can't be frozen on
// demand), on their own ports so they never disturb the main suite's server.
const TIMEOUT = 300
// What "bounded" means here: the timeout plus scheduling slack on a busy 2-core machine.
const BOUND = TIMEOUT + 400

const timed = async (fn: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> => {
  const start = performance.now()
  const error = await fn().then(
    () => undefined,
    (e: unknown) => e,
  )
  return { error, ms: performance.now() - start }
}

describe('a dead server (closed port)', () => {
  let url = ''
  beforeAll(async () => {
    url = `mongodb://127.0.0.1:${await closedPort()}/?directConnection=true`
  })

  it.each(['get', 'set', 'add', 'delete', 'clear'] as const)(
    '%s rejects with a StorageError (with cause) within operationTimeoutMs',
    async (op) => {
      const storage = mongoStorage({ url, operationTimeoutMs: TIMEOUT })
      const calls = {
        get: () => storage.get('ns', 'k'),
        set: () => storage.set('ns', 'k', 1),
        add: () => storage.add('ns', 'k', 1),
        delete: () => storage.delete('ns', 'k'),
        clear: () => storage.clear('ns'),
      }
      const { error, ms } = await timed(calls[op])
      expect(error).toBeInstanceOf(StorageError)
      expect(error).toMatchObject({ storage: 'mongodb', op, code: 'E_STORAGE' })
      expect((error as StorageError).cause).toBeDefined()
      expect(ms).toBeLessThan(BOUND)
      await storage.close()
    },
  )

  it('leaves timeouts set in the URL to the URL', async () => {
    const storage = mongoStorage({ url: `${url}&serverSelectionTimeoutMS=100`, operationTimeoutMs: 5000 })
    const { error, ms } = await timed(() => storage.get('ns', 'k'))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).cause).toMatchObject({ name: 'MongoServerSelectionError' })
    expect(ms).toBeLessThan(1000)
    await storage.close()
  })

  it('is bounded for a user client with the driver default 30 s server selection timeout too', async () => {
    const client = new MongoClient(url)
    const storage = mongoStorage({ client, operationTimeoutMs: TIMEOUT })
    const { error, ms } = await timed(() => storage.get('ns', 'k'))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).message).toMatch(/timed out after 300 ms/)
    expect(ms).toBeLessThan(BOUND)
    await client.close()
  })
})

describe('a server that goes away and comes back', () => {
  let server: StandIn | undefined
  afterAll(async () => {
    await server?.stop()
  })

  it('fails while it is down and works once it is up, with the same storage', async () => {
    const port = portFromEnv('MEMOKIT_MONGO_PORT_RESTART', 27119)
    const storage = mongoStorage({
      url: standInUrl(port),
      operationTimeoutMs: TIMEOUT,
    })
    await expect(storage.set('ns', 'k', 1)).rejects.toBeInstanceOf(StorageError)
    server = await startStandIn(port)
    // The driver's monitor notices the server within its heartbeat; retry the first operation briefly.
    let ok = false
    for (let i = 0; i < 20 && !ok; i++)
      ok = await storage.set('ns', 'k', 1).then(
        () => true,
        () => false,
      )
    expect(ok).toBe(true)
    expect((await storage.get('ns', 'k'))?.value).toBe(1)
    await storage.close()
  })
})

describe('a hung server (process frozen with SIGSTOP)', () => {
  let server: StandIn
  beforeAll(async () => {
    server = await startStandIn(portFromEnv('MEMOKIT_MONGO_PORT_HUNG', 27118))
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('never hangs the caller: operations on an open connection reject in time, and work again after it resumes', async () => {
    const storage = mongoStorage({ url: server.url, operationTimeoutMs: TIMEOUT })
    try {
      await storage.set('ns', 'k', 'v')
      server.freeze()
      try {
        for (const call of [
          () => storage.get('ns', 'k'),
          () => storage.set('ns', 'k', 2),
          () => storage.delete('ns', 'k'),
        ]) {
          const { error, ms } = await timed(call)
          expect(error).toBeInstanceOf(StorageError)
          expect(ms).toBeLessThan(BOUND)
        }
      } finally {
        server.thaw()
      }
      // The commands above were sent before their callers gave up, so the server may still apply them after
      // the thaw (that is why 'k' is left alone here). The same storage serves new calls once it answers again.
      let written = false
      for (let i = 0; i < 20 && !written; i++) {
        written = await storage.set('ns', 'after', 'thaw').then(
          () => true,
          () => false,
        )
      }
      expect(written).toBe(true)
      expect((await storage.get('ns', 'after'))?.value).toBe('thaw')
    } finally {
      const { ms } = await timed(async () => storage.close())
      expect(ms).toBeLessThan(BOUND)
    }
  })

  it('a write that timed out while connecting is never sent later', async () => {
    // The user's client waits up to the driver's 30 s defaults, so the connect completes after the thaw.
    const client = new MongoClient(server.url)
    const prefix = `late-${Date.now()}`
    const storage = mongoStorage({ client, prefix, operationTimeoutMs: TIMEOUT })
    server.freeze()
    let error: unknown
    try {
      error = (await timed(() => storage.set('ns', 'k', 'late'))).error
    } finally {
      server.thaw()
    }
    expect(error).toBeInstanceOf(StorageError)
    try {
      const reader = mongoStorage({ client, prefix, operationTimeoutMs: 5000 })
      await reader.set('ns', 'marker', 1)
      // The abandoned set was queued before the marker: had it been sent, it would have landed by now.
      expect(await reader.get('ns', 'k')).toBeUndefined()
      expect(await client.db('memokit').collection('cache').countDocuments({ p: prefix })).toBe(1)
    } finally {
      await client.close()
    }
  })

  it('close() is bounded too while the server is frozen', async () => {
    const storage = mongoStorage({ url: server.url, operationTimeoutMs: TIMEOUT })
    await storage.set('ns', 'k2', 'v')
    server.freeze()
    try {
      const { ms } = await timed(async () => storage.close())
      expect(ms).toBeLessThan(BOUND)
    } finally {
      server.thaw()
    }
  })
})
