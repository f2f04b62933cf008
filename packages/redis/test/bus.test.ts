// redisBus on real Redis: option checks, round trips on the shared server (node-redis and ioredis clients, and a
// URL), the subscriber connection killed with CLIENT KILL, and a server of our own killed and restarted.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type Bus, ConfigError, StorageError } from '@memokit/core'
import { redisBus } from '@memokit/redis'
import { createClient, createClientPool, type RedisClientType } from 'redis'
import { uid } from './counted'
import { type Recorder, recorder, unhandledErrors } from './fixtures/bus-recorder'
import { ioredisClients } from './ioredis-clients'
import { envPort, type RedisProcess, redisCli, sharedRedis, startRedisServer } from './servers'

const BASE = envPort('REDIS_BUS_PORT', 7240)
const buses: Bus[] = []
const clients: RedisClientType[] = []
const io = ioredisClients()
const servers: RedisProcess[] = []
let shared: { url: string; stop(): Promise<void> }

const bus = (options: Parameters<typeof redisBus>[0]): Bus => {
  const b = redisBus(options)
  buses.push(b)
  return b
}
const client = (url: string, name?: string): RedisClientType => {
  const c = createClient({ url, ...(name === undefined ? {} : { name }) }) as RedisClientType
  c.on('error', () => {})
  clients.push(c)
  return c
}

beforeAll(async () => {
  shared = await sharedRedis(BASE + 1)
}, 30_000)

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close?.()))
  await Promise.all(clients.map((c) => (c.isOpen ? c.close() : undefined)))
  await io.closeAll()
  await Promise.all(servers.map((s) => s.stop()))
  await shared.stop()
}, 30_000)

/** The connections of `port` that are in subscriber mode (`sub=` or `ssub=` above 0), optionally by name. */
async function subscribers(port: number, name?: string): Promise<string[]> {
  const list = await redisCli(port, 'client', 'list')
  return list
    .split('\n')
    .filter((line) => / (s?sub)=[1-9]/.test(line) && (name === undefined || line.includes(` name=${name} `)))
    .map((line) => (/^id=(\d+)/.exec(line) as RegExpExecArray)[1] as string)
}

const portOf = (url: string): number => Number(new URL(url).port || 6379)

describe('options', () => {
  it.each([
    ['no options', undefined, 'options'],
    ['a string', 'redis://127.0.0.1:6379', 'options'],
    ['an unknown option', { url: 'redis://127.0.0.1:6379', timeout: 5 }, 'timeout'],
    ['neither url nor client', {}, 'url'],
    ['both url and client', { url: 'redis://127.0.0.1:6379', client: {} }, 'url'],
    ['a url of another scheme', { url: 'http://127.0.0.1:6379' }, 'url'],
    ['a client that is not one', { client: { get() {} } }, 'client'],
    ['a bad operationTimeoutMs', { url: 'redis://127.0.0.1:6379', operationTimeoutMs: 0 }, 'operationTimeoutMs'],
  ])('rejects %s with a ConfigError naming the option, before connecting', (_, options, option) => {
    const error = (() => {
      try {
        redisBus(options as never)
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ code: 'E_CONFIG', option })
  })

  it('rejects a client pool (it cannot subscribe), saying what to pass', () => {
    const pool = createClientPool({ url: shared.url })
    expect(() => redisBus({ client: pool })).toThrow(/client pool cannot subscribe/)
  })
})

describe('on the shared server', () => {
  it('reports up before subscribe resolves, then delivers every message in order, its own included', async () => {
    const b = bus({ url: shared.url })
    const channel = uid('memokit-bus')
    const heard = recorder()
    const unsubscribe = await b.subscribe(channel, heard.handlers)
    expect(heard.states).toEqual(['up'])
    const sent = Array.from({ length: 200 }, (_, i) => `message ${i} ✓ {"k":[${i}]}`)
    await Promise.all(sent.map((m) => b.publish(channel, m)))
    await heard.until('200 messages', () => heard.messages.length >= 200)
    expect(heard.messages).toEqual(sent)
    await unsubscribe()
    await b.publish(channel, 'after unsubscribe')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(heard.messages).toHaveLength(200)
  })

  it('carries messages between two buses (replicas) and not across channels', async () => {
    const a = bus({ url: shared.url })
    const b = bus({ client: client(shared.url) })
    const channel = uid('memokit-bus')
    const other = uid('memokit-bus')
    const onA = recorder()
    const onB = recorder()
    const onOther = recorder()
    await Promise.all([a.subscribe(channel, onA.handlers), b.subscribe(channel, onB.handlers)])
    await b.subscribe(other, onOther.handlers)
    await a.publish(channel, 'from a')
    await b.publish(channel, 'from b')
    await onA.until('both messages on a', () => onA.messages.length >= 2)
    await onB.until('both messages on b', () => onB.messages.length >= 2)
    expect(onA.messages).toEqual(['from a', 'from b'])
    expect(onB.messages).toEqual(['from a', 'from b'])
    expect(onOther.messages).toEqual([])
  })

  it('subscribes on a duplicate: your node-redis client never enters subscriber mode and stays open after close', async () => {
    const name = uid('memokit-bus-user')
    const user = client(shared.url, name)
    const b = redisBus({ client: user })
    const channel = uid('memokit-bus')
    const heard = recorder()
    await b.subscribe(channel, heard.handlers)
    // Your client connected (it wasn't) and still answers ordinary commands.
    expect(user.isOpen).toBe(true)
    expect(await user.ping()).toBe('PONG')
    // Exactly one subscriber connection carries the name (inherited by the duplicate): the bus's own.
    expect(await subscribers(portOf(shared.url), name)).toHaveLength(1)
    await b.close?.()
    expect(user.isOpen).toBe(true)
    expect(await subscribers(portOf(shared.url), name)).toHaveLength(0)
    await expect(b.publish(channel, 'x')).rejects.toBeInstanceOf(StorageError)
    await expect(b.subscribe(channel, heard.handlers)).rejects.toBeInstanceOf(StorageError)
  })

  it('works over an ioredis client', async () => {
    const user = io.redis(shared.url)
    const b = bus({ client: user })
    const channel = uid('memokit-bus')
    const heard = recorder()
    await b.subscribe(channel, heard.handlers)
    expect(heard.states).toEqual(['up'])
    for (let i = 0; i < 20; i++) await b.publish(channel, `m${i}`)
    await heard.until('20 messages', () => heard.messages.length >= 20)
    expect(heard.messages).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
    expect(await user.ping()).toBe('PONG')
  })

  it('keeps 30 concurrent subscriptions on one bus apart, each up once and hearing only its channel', async () => {
    const b = bus({ url: shared.url })
    const channels = Array.from({ length: 30 }, () => uid('memokit-bus'))
    const heard = channels.map(() => recorder())
    const unsubscribes = await Promise.all(channels.map((c, i) => b.subscribe(c, (heard[i] as Recorder).handlers)))
    await Promise.all(channels.flatMap((c) => [b.publish(c, `${c} 1`), b.publish(c, `${c} 2`)]))
    for (const [i, c] of channels.entries()) {
      const r = heard[i] as Recorder
      await r.until(`both messages on ${c}`, () => r.messages.length >= 2)
      expect(r.messages).toEqual([`${c} 1`, `${c} 2`])
      expect(r.states).toEqual(['up'])
    }
    await Promise.all(unsubscribes.map((stop) => stop()))
  })

  it('ignores what others publish on the channel without its framing', async () => {
    const b = bus({ url: shared.url })
    const channel = uid('memokit-bus')
    const heard = recorder()
    await b.subscribe(channel, heard.handlers)
    await redisCli(portOf(shared.url), 'publish', channel, 'not framed by redisBus')
    await b.publish(channel, 'ours')
    await heard.until('our message', () => heard.messages.length >= 1)
    expect(heard.messages).toEqual(['ours'])
  })

  it.each(['node-redis', 'ioredis'])(
    'over a %s client: the subscriber connection killed (CLIENT KILL) reports down, then up once resubscribed',
    async (kind) => {
      const errors = unhandledErrors()
      try {
        const name = uid('memokit-bus-kill')
        const user = kind === 'node-redis' ? client(shared.url, name) : io.redis(shared.url, { connectionName: name })
        const b = bus({ client: user })
        const channel = uid('memokit-bus')
        const heard = recorder()
        await b.subscribe(channel, heard.handlers)
        // Another replica on the channel: b's probes must neither reach it as messages nor change its state.
        const other = recorder()
        await bus({ url: shared.url }).subscribe(channel, other.handlers)
        const [id] = await subscribers(portOf(shared.url), name)
        expect(id).toBeDefined()
        await redisCli(portOf(shared.url), 'client', 'kill', 'id', id as string)
        await heard.until('down, then up', () => heard.states.length >= 3)
        expect(heard.states).toEqual(['up', 'down', 'up'])
        // A new subscriber connection took the old one's place.
        const [again] = await subscribers(portOf(shared.url), name)
        expect(again).toBeDefined()
        expect(again).not.toBe(id)
        await b.publish(channel, 'after up')
        await heard.until('the message published after up', () => heard.messages.includes('after up'))
        await other.until('the message on the other replica', () => other.messages.includes('after up'))
        expect(other.messages).toEqual(['after up'])
        expect(other.states).toEqual(['up'])
        expect(errors.errors).toEqual([])
      } finally {
        errors.stop()
      }
    },
  )
})

describe('a server of our own killed (SIGKILL) and restarted', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startRedisServer(BASE)
    servers.push(server)
  }, 30_000)

  it('reports down at once, rejects publishes meanwhile, and up after the restart with messages flowing again', async () => {
    const errors = unhandledErrors()
    try {
      const b = bus({ url: server.url, operationTimeoutMs: 300 })
      const channel = uid('memokit-bus')
      const heard = recorder()
      await b.subscribe(channel, heard.handlers)
      await b.publish(channel, 'before')
      await heard.until('the first message', () => heard.messages.length >= 1)

      server.signal('SIGKILL')
      await server.exited()
      await heard.until('down', () => heard.states.includes('down'), 3000)
      const failed = await b.publish(channel, 'while down').then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(failed).toBeInstanceOf(StorageError)
      expect(failed).toMatchObject({
        storage: 'redis-bus',
        message: expect.stringMatching(/^redis-bus publish on 127\.0\.0\.1:\d+ /),
      })

      await server.restart()
      await heard.until('up again', () => heard.states.length >= 3 && heard.states.at(-1) === 'up', 10_000)
      expect(heard.states).toEqual(['up', 'down', 'up'])
      await b.publish(channel, 'after')
      await heard.until('the message after up', () => heard.messages.includes('after'))
      expect(heard.messages).toEqual(['before', 'after'])
      expect(errors.errors).toEqual([])
    } finally {
      errors.stop()
    }
  })

  it("over your own client, fails a publish at once while the server is down instead of queueing it in your client's offline queue", async () => {
    const own = client(server.url)
    await own.connect()
    const b = bus({ client: own, operationTimeoutMs: 1000 })
    const channel = uid('memokit-bus')
    const heard = recorder()
    await b.subscribe(channel, heard.handlers)
    server.signal('SIGKILL')
    await server.exited()
    await heard.until('down', () => heard.states.includes('down'), 3000)
    // And your client saw it too: the bus's subscriber (a connection of its own) can report the drop first, and a
    // publish made before your client has seen its socket close waits in that client (on a loaded machine: the 1 s
    // timeout). The claim is about a server your client knows is down.
    await heard.until('your client offline', () => !own.isReady, 3000)
    const started = Date.now()
    const failed = await b.publish(channel, 'while down').then(
      () => undefined,
      (error: unknown) => error,
    )
    // Queued, it would have waited for the 1 s timeout, and held your client's close() until it left the queue.
    expect(Date.now() - started).toBeLessThan(500)
    expect(failed).toBeInstanceOf(StorageError)
    expect(String((failed as Error).cause)).toMatch(/offline/)
    await server.restart()
    await heard.until('up again', () => heard.states.at(-1) === 'up', 10_000)
  })

  it('rejects subscribe within operationTimeoutMs while the server is down, leaves nothing subscribed, and subscribes once it is up', async () => {
    const port = BASE + 2
    expect((await redisCli(port, 'ping').catch(() => 'refused')).includes('PONG')).toBe(false)
    const b = bus({ url: `redis://127.0.0.1:${port}`, operationTimeoutMs: 300 })
    const channel = uid('memokit-bus')
    const heard = recorder()
    const started = Date.now()
    await expect(b.subscribe(channel, heard.handlers)).rejects.toBeInstanceOf(StorageError)
    expect(Date.now() - started).toBeLessThan(1500)
    expect(heard.states).toEqual([])

    const late = await startRedisServer(port)
    servers.push(late)
    // The bus' connections come up by themselves (backoff capped at 1 s); the failed subscription stays gone.
    await heard.until('the bus connected', () => false, 1500).catch(() => {})
    expect(await subscribers(port)).toEqual([])
    const again = recorder()
    await b.subscribe(channel, again.handlers)
    expect(again.states).toEqual(['up'])
    await b.publish(channel, 'now')
    await again.until('the message', () => again.messages.length >= 1)
    expect(again.messages).toEqual(['now'])
    expect(heard.messages).toEqual([])
  })
})
