// redisBus on a real 6-node Redis Cluster started here: sharded pub/sub (SSUBSCRIBE/SPUBLISH) with channels on
// every master, between two buses (replicas), and a subscriber connection killed on its node.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { Bus } from '@memokit/core'
import { redisBus } from '@memokit/redis'
import { createCluster, type RedisClusterType } from 'redis'
import { uid } from './counted'
import { type Recorder, recorder, unhandledErrors } from './fixtures/bus-recorder'
import { ioredisClients } from './ioredis-clients'
import { envPort, type RedisClusterProcesses, redisCli, startRedisCluster } from './servers'

let cluster: RedisClusterProcesses
const clients: RedisClusterType[] = []
const buses: Bus[] = []

type Kind = 'node-redis' | 'ioredis'
const io = ioredisClients()

/** A cluster client of either library; `name` is the connection name its duplicates inherit. */
function clientOf(kind: Kind, name?: string): object {
  if (kind === 'node-redis') return clusterClient(name)
  return io.cluster(
    cluster.nodes.slice(0, 1).map((n) => ({ host: '127.0.0.1', port: n.port })),
    name === undefined ? {} : { redisOptions: { connectionName: name } },
  )
}

function clusterClient(name?: string): RedisClusterType {
  const c = createCluster({
    rootNodes: [...cluster.rootNodes],
    defaults: {
      ...(name === undefined ? {} : { name }),
      socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 500) },
    },
  }) as RedisClusterType
  c.on('error', () => {})
  clients.push(c)
  return c
}
const bus = (client: object): Bus => {
  const b = redisBus({ client })
  buses.push(b)
  return b
}

beforeAll(async () => {
  cluster = await startRedisCluster(envPort('REDIS_BUS_CLUSTER_PORT', 7230))
}, 60_000)

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close?.()))
  await Promise.all(clients.map((c) => (c.isOpen ? c.close() : undefined)))
  await io.closeAll()
  await cluster?.stop()
}, 30_000)

// Redis Cluster's key slot: CRC16 (XMODEM) of the key modulo 16384 (channel names here have no hash tags).
function slotOf(key: string): number {
  let crc = 0
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}

/** One channel name per master, so the test covers every shard: candidates sorted by master from one CLUSTER SLOTS. */
async function channelPerMaster(): Promise<{ channel: string; port: number }[]> {
  const slots = await redisCli(cluster.nodes[0]?.port as number, '--json', 'cluster', 'slots')
  const ranges = (JSON.parse(slots) as [number, number, [string, number]][]).map(([from, to, [, port]]) => ({
    from,
    to,
    port,
  }))
  const byPort = new Map<number, string>()
  for (let i = 0; byPort.size < 3 && i < 1000; i++) {
    const channel = uid('memokit-bus')
    const slot = slotOf(channel)
    const port = ranges.find((r) => slot >= r.from && slot <= r.to)?.port as number
    if (!byPort.has(port)) byPort.set(port, channel)
  }
  expect(byPort.size).toBe(3)
  // Cross-checked against the server for the first one.
  const [first] = byPort.values()
  expect(Number((await redisCli(cluster.nodes[0]?.port as number, 'cluster', 'keyslot', first as string)).trim())).toBe(
    slotOf(first as string),
  )
  return [...byPort].map(([port, channel]) => ({ channel, port }))
}

describe.each(['node-redis', 'ioredis'] as const)('redisBus on a Redis Cluster, %s client', (kind) => {
  it('uses sharded pub/sub on the master of each channel and carries messages between replicas in order', async () => {
    const a = bus(clientOf(kind))
    const b = bus(clientOf(kind))
    const channels = await channelPerMaster()
    const heard = new Map<string, Recorder[]>()
    for (const { channel, port } of channels) {
      const onA = recorder()
      const onB = recorder()
      await a.subscribe(channel, onA.handlers)
      await b.subscribe(channel, onB.handlers)
      expect(onA.states).toEqual(['up'])
      heard.set(channel, [onA, onB])
      // The master serving the channel's slot lists it as a shard channel: SSUBSCRIBE, not SUBSCRIBE.
      expect(await redisCli(port, 'pubsub', 'shardchannels', channel)).toContain(channel)
      expect(await redisCli(port, 'pubsub', 'channels', channel)).not.toContain(channel)
    }
    for (const { channel } of channels) {
      for (let i = 0; i < 10; i++) await (i % 2 === 0 ? a : b).publish(channel, `${channel} #${i}`)
    }
    for (const [channel, recorders] of heard) {
      const expected = Array.from({ length: 10 }, (_, i) => `${channel} #${i}`)
      for (const r of recorders) {
        await r.until(`10 messages on ${channel}`, () => r.messages.length >= 10)
        expect(r.messages).toEqual(expected)
      }
    }
  })

  it('reports down, then up, when its shard subscriber connection is killed, and messages flow again', async () => {
    const errors = unhandledErrors()
    try {
      const name = uid('memokit-bus-kill')
      const a = bus(clientOf(kind, name))
      const b = bus(clientOf(kind))
      const [{ channel, port }] = (await channelPerMaster()) as [{ channel: string; port: number }]
      const onA = recorder()
      await a.subscribe(channel, onA.handlers)
      // a's shard subscriber on that master: the duplicate carries the client's name.
      const list = await redisCli(port, 'client', 'list')
      const ids = list
        .split('\n')
        // ioredis names it `ioredis-cluster(ssubscriber):<name>`.
        .filter((line) => / ssub=[1-9]/.test(line) && new RegExp(` name=\\S*${name} `).test(line))
        .map((line) => (/^id=(\d+)/.exec(line) as RegExpExecArray)[1])
      expect(ids).toHaveLength(1)
      await redisCli(port, 'client', 'kill', 'id', ids[0] as string)
      await onA.until('down, then up', () => onA.states.length >= 3, 10_000)
      expect(onA.states).toEqual(['up', 'down', 'up'])
      await b.publish(channel, 'after up')
      await onA.until('the message after up', () => onA.messages.includes('after up'))
      expect(errors.errors).toEqual([])
    } finally {
      errors.stop()
    }
  })
})
