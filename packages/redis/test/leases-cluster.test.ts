// Leases on a real 6-node Redis Cluster started here: every lease key shares its entry's slot (checked with the
// server's CLUSTER KEYSLOT, for nasty keys, hash-tag prefixes and client keyPrefixes), so the two-key scripts never
// meet CROSSSLOT through node-redis or ioredis; delete and clear remove leases on every master; the scripts are
// loaded again on each master after SCRIPT FLUSH and on a replica promoted by a failover.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type RedisStorage, type RedisStorageOptions, redisStorage } from '@memokit/redis'
import fc from 'fast-check'
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis'
import { leaseKey } from '../src/lease-keys'
import { keySlot } from '../src/slots'
import { uid } from './counted'
import { ioredisClients } from './ioredis-clients'
import {
  disposer,
  envPort,
  FAILOVER_SOCKET,
  keysOn,
  liveMasters,
  type RedisClusterProcesses,
  redisCli,
  startRedisCluster,
} from './servers'

const cleanup = disposer()
const clients = ioredisClients()
const open = (options: RedisStorageOptions): RedisStorage => cleanup.track(redisStorage(options))
const token = (): string => randomBytes(16).toString('hex')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const LONG = 60_000

let cluster: RedisClusterProcesses
let nodeCluster: RedisClusterType
let plain: RedisClientType // one node, asked for CLUSTER KEYSLOT

// Rides out a failover: fail fast while a node is down, refresh the slot map while reconnecting (as cluster.test).
function clusterClient(keyPrefix?: string): RedisClusterType {
  const c = createCluster({
    rootNodes: [...cluster.rootNodes],
    defaults: {
      disableOfflineQueue: true,
      socket: FAILOVER_SOCKET,
      ...(keyPrefix === undefined ? {} : { keyPrefix }),
    },
    topologyRefreshOnReconnectionAttemptStrategy: 200,
  }) as RedisClusterType
  c.on('error', () => {})
  return cleanup.track(c)
}

beforeAll(async () => {
  cluster = await startRedisCluster(envPort('REDIS_LEASE_CLUSTER_PORT', 7290))
  nodeCluster = clusterClient()
  plain = cleanup.track(createClient({ url: cluster.rootNodes[0]?.url }) as RedisClientType)
  plain.on('error', () => {})
  await plain.connect()
}, 60_000)

afterAll(async () => {
  await cleanup.disposeAll()
  await clients.closeAll()
  await cluster?.stop()
}, 60_000)

const serverSlot = async (key: string | Buffer): Promise<number> =>
  Number(await plain.sendCommand(['CLUSTER', 'KEYSLOT', key]))

// Keys with braces where they open or close tags, UTF-8, and what 0xFF reads as (U+FFFD).
const NASTY = [
  'k',
  '',
  '{',
  '}',
  '{}',
  '}{',
  '{}x}',
  'a{b}c',
  '{{b}}',
  '[{"a":1}]',
  'x{',
  '{x',
  'é{ü}',
  '😀',
  '\uFFFD}',
]
const PREFIXES = ['', 'app:', '{tenant}:', 'x{', '}{', '{}']

describe('lease keys on a cluster', () => {
  it('share the slot of their entry, as CLUSTER KEYSLOT computes it (nasty keys, prefixes, keyPrefixes)', async () => {
    const part = fc.array(fc.constantFrom('a', '{', '}', 'é', '😀', ':', '%', '\u0000', 'Z'), { maxLength: 8 })
    const random = fc.sample(fc.tuple(part, part, part), 120).map(([p, n, k]) => [p.join(''), n.join(''), k.join('')])
    const cases = [
      ...NASTY.flatMap((k) => PREFIXES.map((p) => [p, `memokit/p:ns:${k}`])),
      ...random.map(([kp, ns, k]) => [kp, `${ns}:x:${k}`]),
    ] as [string, string][]
    for (const [clientPrefix, entry] of cases) {
      const lease = leaseKey(entry, clientPrefix)
      const sent = Buffer.from([...Buffer.from(clientPrefix), ...lease])
      const entrySlot = await serverSlot(clientPrefix + entry)
      expect([clientPrefix, entry, await serverSlot(sent)]).toEqual([clientPrefix, entry, entrySlot])
      expect(keySlot(sent)).toBe(entrySlot)
      // Never a valid UTF-8 string: no entry key can equal it.
      expect(Buffer.from(lease.toString('utf8'), 'utf8').toString('hex')).not.toBe(lease.toString('hex'))
    }
  })
})

const kinds: { name: string; create(prefix: string): RedisStorage }[] = [
  { name: 'node-redis', create: (prefix) => open({ client: nodeCluster, prefix }) },
  { name: 'node-redis with keyPrefix x{', create: (prefix) => open({ client: clusterClient('x{'), prefix }) },
  {
    name: 'ioredis',
    create: (prefix) =>
      open({ client: clients.cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }))), prefix }),
  },
  {
    name: 'ioredis with keyPrefix }{',
    create: (prefix) =>
      open({
        client: clients.cluster(
          cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
          { keyPrefix: '}{' },
        ),
        prefix,
      }),
  },
]

describe.each(kinds)('redis leases on a cluster ($name)', ({ create }) => {
  it('run the two-key scripts on nasty keys of many slots, and delete and clear remove the leases', async () => {
    const prefix = uid('lc')
    const storage = create(prefix)
    const keys = [...NASTY, ...Array.from({ length: 30 }, (_, i) => `k${i}`)]
    const tokens = keys.map(() => token())
    for (const [i, key] of keys.entries()) {
      expect(await storage.acquireLease('ns', key, tokens[i] as string, LONG)).toBe(true)
      expect(await storage.extendLease('ns', key, tokens[i] as string, LONG)).toBe(true)
    }
    // Half are written through their lease, the other half deleted: both remove the lease, by script.
    for (const [i, key] of keys.entries()) {
      if (i % 2 === 0) expect(await storage.setIfLeased('ns', key, i, tokens[i] as string)).toBe(true)
      else expect(await storage.delete('ns', key)).toBe(false)
    }
    for (const [i, key] of keys.entries()) {
      expect((await storage.get('ns', key))?.value).toBe(i % 2 === 0 ? i : undefined)
      expect(await storage.releaseLease('ns', key, tokens[i] as string)).toBe(false)
    }
    // Leases held again, then one clear on every master removes entries and leases alike.
    for (const key of keys) expect(await storage.acquireLease('ns', key, token(), LONG)).toBe(true)
    await storage.clear('ns')
    for (const key of keys) expect(await storage.acquireLease('ns', key, token(), LONG)).toBe(true)
    await storage.clear('ns')
    const masters = await liveMasters(cluster)
    for (const master of masters) expect(await keysOn(master, `*${prefix}*`)).toEqual([])
  })
})

describe('redis lease scripts on a cluster', () => {
  it('are loaded again on every master after SCRIPT FLUSH', async () => {
    const storage = open({ client: nodeCluster, prefix: uid('lc-flush') })
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`)
    const t = token()
    for (const key of keys) expect(await storage.acquireLease('ns', key, t, LONG)).toBe(true)
    for (const key of keys) expect(await storage.extendLease('ns', key, t, LONG)).toBe(true)
    await Promise.all(cluster.nodes.map((n) => redisCli(n.port, 'script', 'flush')))
    for (const key of keys) expect(await storage.extendLease('ns', key, t, LONG)).toBe(true)
    for (const key of keys) expect(await storage.setIfLeased('ns', key, key, t)).toBe(true)
    for (const key of keys) expect((await storage.get('ns', key))?.value).toBe(key)
    await storage.clear('ns')
  })

  it('work on the replica a failover promoted', async () => {
    const prefix = uid('lc-failover')
    const storage = open({ client: clusterClient(), prefix, operationTimeoutMs: 500 })
    const t = token()
    // A key whose master is not the first node, which masterFor asks.
    let probe = ''
    let victim = cluster.nodes[0]
    for (let i = 0; victim === cluster.nodes[0]; i++) {
      probe = `probe${i}`
      victim = await cluster.masterFor(`${prefix}:ns:${probe}`)
    }
    expect(await storage.acquireLease('ns', probe, t, LONG)).toBe(true)
    expect(await storage.releaseLease('ns', probe, t)).toBe(true)
    victim?.signal('SIGKILL')
    const killedAt = performance.now()
    let tookLease = false
    while (!tookLease && performance.now() - killedAt < 20_000) {
      tookLease = await storage.acquireLease('ns', probe, t, LONG).catch(() => false)
      if (!tookLease) await sleep(50)
    }
    expect(tookLease).toBe(true)
    const promoted = await cluster.masterFor(`${prefix}:ns:${probe}`)
    expect(promoted).not.toBe(victim)
    const evals = async (): Promise<number> =>
      Number(/cmdstat_eval:calls=(\d+)/.exec(await redisCli(promoted.port, 'info', 'commandstats'))?.[1] ?? 0)
    const evalsBefore = await evals()
    expect(await storage.extendLease('ns', probe, t, LONG)).toBe(true)
    // The promoted replica never cached the script: EVALSHA met NOSCRIPT there and EVAL taught it.
    expect(await evals()).toBe(evalsBefore + 1)
    expect(await storage.setIfLeased('ns', probe, 'after', t)).toBe(true)
    expect((await storage.get('ns', probe))?.value).toBe('after')
    expect(await storage.delete('ns', probe)).toBe(true)
    await cluster.waitHealthy()
  }, 60_000)
})
