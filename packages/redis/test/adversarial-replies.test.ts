// Adversarial review: replies memokit doesn't expect, from a redis-server of our own (ports 7640-7641, or
// REDIS_REPLIES_PORT and the next) behind a rewriting TCP proxy. A wrong value is worse than no cache: whatever
// comes back that isn't a memokit payload (or a script's 0/1) must give the caller fn's fresh value, or a typed
// error reported to onError, never a value decoded from it.
// - GET answered with an array, a number or an empty string (a proxy or a different server speaking RESP), and
//   MGET with more or fewer replies than keys, or no array;
// - values another program put under memokit's key (plain text, JSON, a truncated payload, a newer format tag);
// - EVALSHA answered by another script: the proxy rewrites the SHA of memokit's script into the SHA of one loaded
//   on the same server. Before: `delete` read 'OK' as "nothing deleted" and left the entry served, and the lease
//   members read any reply that wasn't 1 as "lease not held".
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CodecError, cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import { type RedisStorage, redisStorage } from '@memokit/redis'
import { createClient, RESP_TYPES } from 'redis'
import { DELETE, EXTEND, RELEASE, SET_IF_LEASED } from '../src/lua'
import { ioredisClients } from './ioredis-clients'
import { disposer, envPort, type RedisProcess, startRedisServer } from './servers'

const PORT = envPort('REDIS_REPLIES_PORT', 7640)
const PROXY_PORT = PORT + 1
const HOST = '127.0.0.1'
const cleanup = disposer()
const TOKEN = 'token-0123456789abcdef'
const io = ioredisClients()

/** A proxy that rewrites bytes towards the server, and answers the next command holding `marker` itself. */
interface RewritingProxy {
  swap(from: string, to: string): void
  answer(marker: string, reply: string): void
  reset(): void
  close(): Promise<void>
}

async function startRewritingProxy(target: number, port: number): Promise<RewritingProxy> {
  // Bytes as latin1 text: one character per byte, so replacing text keeps every other byte as it was.
  let swaps: [string, string][] = []
  let canned: [string, string] | undefined
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: HOST, port: target })
    sockets.add(client).add(upstream)
    client.on('data', (data: Uint8Array) => {
      const text = Buffer.from(data).toString('latin1')
      // The tests send one command at a time, so one chunk holds the command a canned reply stands for.
      if (canned !== undefined && text.includes(canned[0])) {
        client.write(canned[1], 'latin1')
        canned = undefined
        return
      }
      // Same length (a SHA for a SHA): RESP's length prefixes stay right.
      let out = text
      for (const [from, to] of swaps) out = out.split(from).join(to)
      upstream.write(out, 'latin1')
    })
    upstream.on('data', (data: Uint8Array) => client.write(data))
    const close = (): void => {
      client.destroy()
      upstream.destroy()
    }
    for (const s of [client, upstream]) s.on('error', close).on('close', close)
  })
  await new Promise<void>((resolve) => server.listen(port, HOST, resolve))
  return {
    swap: (from, to) => swaps.push([from, to]),
    answer: (marker, reply) => {
      canned = [marker, Buffer.from(reply).toString('latin1')]
    },
    reset: () => {
      swaps = []
      canned = undefined
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

let server: RedisProcess
let proxy: RewritingProxy
let raw: ReturnType<typeof createClient>
let uid = 0
beforeAll(async () => {
  server = await startRedisServer(PORT)
  proxy = await startRewritingProxy(PORT, PROXY_PORT)
  raw = createClient({ url: server.url })
  await raw.connect()
}, 20_000)
afterAll(async () => {
  await cleanup.disposeAll()
  await io.closeAll()
  raw.destroy()
  await proxy.close()
  await server.stop()
})

const proxied = `redis://${HOST}:${PROXY_PORT}`
const clients: ReadonlyArray<[string, (prefix: string) => RedisStorage]> = [
  ['node-redis from url', (prefix) => cleanup.track(redisStorage({ url: proxied, prefix, operationTimeoutMs: 2000 }))],
  ['ioredis', (prefix) => cleanup.track(redisStorage({ client: io.redis(proxied), prefix, operationTimeoutMs: 2000 }))],
]

/** A cached function over `storage`, its runs and its reports. */
function counted(storage: RedisStorage) {
  const reports: ErrorReport[] = []
  let runs = 0
  const fn = cacheValue(
    async (id: number) => {
      runs++
      return `fresh-${id}`
    },
    { storage, name: 'f', namespace: 'ns', onError: (report) => reports.push(report) },
  )
  return { fn, reports, runs: () => runs }
}

const bulk = (text: string): string => `$${Buffer.byteLength(text)}\r\n${text}\r\n`

describe.each(clients)('%s', (_name, open) => {
  const fresh = (): { prefix: string; storage: RedisStorage } => {
    proxy.reset()
    const prefix = `replies-${process.pid}-${++uid}`
    return { prefix, storage: open(prefix) }
  }

  it.each([
    ['an array holding a payload of another value', (payload: string) => `*1\r\n${bulk(payload)}`],
    [
      'an array of two parts of a payload',
      (payload: string) => {
        // Joined with ',' (String of an array), the two parts are the payload again.
        const comma = payload.indexOf(',')
        return `*2\r\n${bulk(payload.slice(0, comma))}${bulk(payload.slice(comma + 1))}`
      },
    ],
    ['a number', () => ':7\r\n'],
    ['an empty string', () => '$0\r\n\r\n'],
  ])('GET answered with %s: fn runs, a CodecError is reported', async (_label, reply) => {
    const { prefix, storage } = fresh()
    const { fn, reports, runs } = counted(storage)
    await storage.set('ns', 'k', 'wrong')
    const payload = (await raw.get(`${prefix}:ns:k`)) as string
    proxy.answer(`${prefix}:ns:`, reply(payload))
    expect(await fn(1)).toBe('fresh-1')
    expect(runs()).toBe(1)
    expect(reports.map((r) => [r.op, r.error instanceof CodecError])).toEqual([['get', true]])
  })

  it.each([
    ['one reply for two keys', (payload: string) => `*1\r\n${bulk(payload)}`],
    ['three replies for two keys', (payload: string) => `*3\r\n${bulk(payload)}$-1\r\n${bulk(payload)}`],
    ['a string', (payload: string) => bulk(payload)],
  ])('MGET answered with %s: getMany rejects with a CodecError, no entry under another key', async (_label, reply) => {
    const { prefix, storage } = fresh()
    await storage.set('ns', 'a', 'value-of-a')
    const payload = (await raw.get(`${prefix}:ns:a`)) as string
    // Asked for b then a: a reply one short would put a's entry under b.
    proxy.answer(`${prefix}:ns:b`, reply(payload))
    const getMany = storage.getMany as NonNullable<RedisStorage['getMany']>
    const error = await getMany('ns', ['b', 'a']).then(
      (entries) => entries,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(CodecError)
    expect(String((error as Error).message)).toMatch(/MGET of 2 keys/)
    expect((await getMany('ns', ['b', 'a'])).map((e) => e?.value)).toEqual([undefined, 'value-of-a'])
  })

  it.each([
    ['plain text', 'hello'],
    ['a JSON document', '{"value":"wrong","createdAt":1}'],
    ['a truncated payload', 'truncate'],
    ['a payload of a newer format tag', 'z1000,,j"wrong";'],
  ])('a key holding %s written by another program: fn runs, then hits', async (_label, text) => {
    const { prefix, storage } = fresh()
    const { fn, reports, runs } = counted(storage)
    await fn(1)
    const [key] = await raw.keys(`${prefix}:ns:*`)
    const foreign = (key as string).replace(/\[1\]$/, '[2]')
    const payload = (await raw.get(key as string)) as string
    await raw.set(foreign, text === 'truncate' ? payload.replace('fresh-1', 'fresh-2').slice(0, -2) : text)
    expect(await fn(2)).toBe('fresh-2')
    expect(await fn(2)).toBe('fresh-2')
    expect(runs()).toBe(2)
    expect(reports.map((r) => [r.op, r.error instanceof CodecError])).toEqual([['get', true]])
  })

  it('delete answered by another script: a StorageError, reported, never "nothing was there"', async () => {
    const { storage } = fresh()
    const { fn, runs } = counted(storage)
    const other = (await raw.scriptLoad("return redis.status_reply('OK')")) as string
    expect(await fn(1)).toBe('fresh-1')
    proxy.swap(DELETE.sha, other)
    await expect(storage.delete('ns', fn.keyFor(1))).rejects.toBeInstanceOf(StorageError)
    proxy.reset()
    expect(await fn(1)).toBe('fresh-1')
    expect(runs()).toBe(1)
  })

  it.each([
    ["'OK'", "return redis.status_reply('OK')"],
    ['2', 'return 2'],
    ['nil', 'return nil'],
  ])('the lease scripts answered with %s by another script: StorageErrors', async (_label, text) => {
    const { storage } = fresh()
    const other = (await raw.scriptLoad(text)) as string
    for (const s of [RELEASE, EXTEND, SET_IF_LEASED]) proxy.swap(s.sha, other)
    expect(await storage.acquireLease('ns', 'k', TOKEN, 10_000)).toBe(true)
    await expect(storage.extendLease('ns', 'k', TOKEN, 10_000)).rejects.toBeInstanceOf(StorageError)
    await expect(storage.setIfLeased('ns', 'k', 'v', TOKEN)).rejects.toBeInstanceOf(StorageError)
    await expect(storage.releaseLease('ns', 'k', TOKEN)).rejects.toBeInstanceOf(StorageError)
    proxy.reset()
    // The real scripts still answer as before.
    expect(await storage.setIfLeased('ns', 'k', 'v', TOKEN)).toBe(true)
    expect((await storage.get('ns', 'k'))?.value).toBe('v')
    expect(await storage.delete('ns', 'k')).toBe(true)
  })
})

describe('a node-redis client mapping blob strings (and numbers) to other types', () => {
  it('hits decode to the value written, the scripts still answer 0/1', async () => {
    proxy.reset()
    const client = createClient({ url: server.url }).withTypeMapping({
      [RESP_TYPES.BLOB_STRING]: Buffer,
      [RESP_TYPES.NUMBER]: String,
    })
    client.on('error', () => {})
    await client.connect()
    try {
      const storage = cleanup.track(redisStorage({ client, prefix: `replies-buffers-${process.pid}` }))
      const { fn, runs } = counted(storage)
      expect([await fn(1), await fn(1)]).toEqual(['fresh-1', 'fresh-1'])
      expect(runs()).toBe(1)
      expect(await storage.acquireLease('ns', 'k', TOKEN, 10_000)).toBe(true)
      expect(await storage.extendLease('ns', 'k', TOKEN, 10_000)).toBe(true)
      expect(await storage.releaseLease('ns', 'k', TOKEN)).toBe(true)
      expect(await storage.delete('ns', fn.keyFor(1))).toBe(true)
      expect(await storage.delete('ns', fn.keyFor(1))).toBe(false)
    } finally {
      await cleanup.disposeAll()
      client.destroy()
    }
  })
})
