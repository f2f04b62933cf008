// redisBus({ url }) reconnecting its own connections: they give up on every loss (node-redis' reconnect waits are
// ref'd timers, which held a process while Redis was unreachable) and the bus connects them again itself, the
// subscriber from its subscriptions' probes and by the next subscribe, the publisher by the next publish.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type Bus, StorageError } from '@memokit/core'
import { redisBus } from '@memokit/redis'
import { uid } from './counted'
import { recorder, unhandledErrors } from './fixtures/bus-recorder'
import { envPort, type RedisProcess, redisCli, startRedisServer } from './servers'

const BASE = envPort('REDIS_BUS_OWN_PORT', 21470)
const buses: Bus[] = []
let server: RedisProcess

const bus = (): Bus => {
  const b = redisBus({ url: server.url, operationTimeoutMs: 500 })
  buses.push(b)
  return b
}

/** Ids of the server's connections whose client list line matches `pattern`. */
async function connections(pattern: RegExp): Promise<string[]> {
  const list = await redisCli(server.port, 'client', 'list')
  return list
    .split('\n')
    .filter((line) => pattern.test(line))
    .map((line) => (/^id=(\d+)/.exec(line) as RegExpExecArray)[1] as string)
}

beforeAll(async () => {
  server = await startRedisServer(BASE)
}, 30_000)

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close?.()))
  await server?.stop()
}, 30_000)

describe('redisBus({ url }) connects its own connections again', () => {
  it('the subscriber killed (CLIENT KILL): down, then up once the bus reconnected and resubscribed it', async () => {
    const errors = unhandledErrors()
    try {
      const b = bus()
      const channel = uid('memokit-bus-own')
      const heard = recorder()
      await b.subscribe(channel, heard.handlers)
      const [id] = await connections(/ sub=1 /)
      expect(id).toBeDefined()
      await redisCli(server.port, 'client', 'kill', 'id', id as string)
      await heard.until('down, then up', () => heard.states.length >= 3, 5000)
      expect(heard.states).toEqual(['up', 'down', 'up'])
      const [again] = await connections(/ sub=1 /)
      expect(again).toBeDefined()
      expect(again).not.toBe(id)
      await b.publish(channel, 'after up')
      await heard.until('the message after up', () => heard.messages.includes('after up'))
      expect(heard.messages).toEqual(['after up'])
      expect(errors.errors).toEqual([])
      await b.close?.()
    } finally {
      errors.stop()
    }
  })

  it('the publisher killed (CLIENT KILL): the next publish connects it again and goes through', async () => {
    const before = new Set(await connections(/ cmd=publish /))
    const b = bus()
    const channel = uid('memokit-bus-own')
    const heard = recorder()
    await b.subscribe(channel, heard.handlers)
    await b.publish(channel, 'before')
    const [id] = (await connections(/ cmd=publish /)).filter((other) => !before.has(other))
    expect(id).toBeDefined()
    await redisCli(server.port, 'client', 'kill', 'id', id as string)
    // Until node-redis has seen its socket close, a publish would still be written to it.
    await new Promise((resolve) => setTimeout(resolve, 200))
    await b.publish(channel, 'after')
    await heard.until('both messages', () => heard.messages.length >= 2)
    expect(heard.messages).toEqual(['before', 'after'])
    expect(heard.states).toEqual(['up'])
    await b.close?.()
  })

  it('with no subscription left, the server killed and restarted: the next subscribe connects the subscriber again', async () => {
    const b = bus()
    const first = recorder()
    const unsubscribe = await b.subscribe(uid('memokit-bus-own'), first.handlers)
    await unsubscribe()
    server.signal('SIGKILL')
    await server.exited()
    // Nothing probes for a bus without subscriptions, so its subscriber stays closed; meanwhile subscribing fails.
    await expect(b.subscribe(uid('memokit-bus-own'), recorder().handlers)).rejects.toBeInstanceOf(StorageError)
    await server.restart()
    const channel = uid('memokit-bus-own')
    const heard = recorder()
    await b.subscribe(channel, heard.handlers)
    expect(heard.states).toEqual(['up'])
    await b.publish(channel, 'now')
    await heard.until('the message', () => heard.messages.length >= 1)
    expect(heard.messages).toEqual(['now'])
  })
})
