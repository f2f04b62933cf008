// redisBus over node-redis' createSentinel, on a real master + replica + 3 sentinels started here: plain pub/sub
// through the master, and a master SIGKILL (Sentinel failover) reported as down, then up once the bus hears
// its own probe through the promoted master.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { Bus } from '@memokit/core'
import { redisBus } from '@memokit/redis'
import { createSentinel, type RedisSentinelType } from 'redis'
import { uid } from './counted'
import { recorder, unhandledErrors } from './fixtures/bus-recorder'
import { envPort, FAILOVER_SOCKET, type RedisSentinelProcesses, redisCli, startRedisSentinel } from './servers'

let servers: RedisSentinelProcesses
const clients: RedisSentinelType[] = []
const buses: Bus[] = []

function sentinelClient(): RedisSentinelType {
  const c = createSentinel({
    name: servers.name,
    sentinelRootNodes: [...servers.sentinelRootNodes],
    nodeClientOptions: {
      socket: FAILOVER_SOCKET,
    },
  })
  c.on('error', () => {})
  clients.push(c)
  return c
}
// Connecting through Sentinel (ask a sentinel, then the master) takes over a second on a busy machine.
const bus = (client: RedisSentinelType): Bus => {
  const b = redisBus({ client, operationTimeoutMs: 5000 })
  buses.push(b)
  return b
}

beforeAll(async () => {
  servers = await startRedisSentinel(
    envPort('REDIS_BUS_SENTINEL_DATA_PORT', 7250),
    envPort('REDIS_BUS_SENTINEL_PORT', 7252),
  )
}, 60_000)

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close?.()))
  await Promise.all(clients.map((c) => (c.isOpen ? c.close().catch(() => c.destroy()) : undefined)))
  await servers?.stop()
}, 60_000)

describe('redisBus through Sentinel', () => {
  it('carries messages through the master, and comes back up after a failover', async () => {
    const errors = unhandledErrors()
    try {
      const a = bus(sentinelClient())
      const b = bus(sentinelClient())
      const channel = uid('memokit-bus')
      const onA = recorder()
      const onB = recorder()
      await a.subscribe(channel, onA.handlers)
      await b.subscribe(channel, onB.handlers)
      // Plain pub/sub on the master.
      expect(await redisCli(servers.master.port, 'pubsub', 'numsub', channel)).toContain('2')
      await a.publish(channel, 'one')
      await b.publish(channel, 'two')
      await onA.until('two messages on a', () => onA.messages.length >= 2)
      await onB.until('two messages on b', () => onB.messages.length >= 2)
      expect(onA.messages).toEqual(['one', 'two'])
      expect(onB.messages).toEqual(['one', 'two'])

      servers.master.signal('SIGKILL')
      await onA.until('a down', () => onA.states.includes('down'), 5000)
      await onA.until('a up again', () => onA.states.at(-1) === 'up' && onA.states.length >= 3, 20_000)
      await onB.until('b up again', () => onB.states.at(-1) === 'up' && onB.states.length >= 3, 20_000)
      expect(await redisCli(servers.replica.port, 'role')).toMatch(/^master/)
      await b.publish(channel, 'after failover')
      await onA.until('the message after the failover', () => onA.messages.includes('after failover'), 5000)
      expect(errors.errors).toEqual([])
    } finally {
      errors.stop()
    }
  }, 60_000)
})
