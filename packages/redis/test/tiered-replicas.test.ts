// tieredStorage over Redis with redisBus, with two and three replicas as separate processes (fixtures/replica.ts):
// a write on one replica reaches the others, clears (function, namespace, key) drop exactly their entries on every
// replica, a tag invalidated on one replica recomputes its entries on all, lost messages (one, or all) are caught
// by the sequence gap or the silent heartbeat, and faults (the subscriber connection killed, the server killed and
// restarted) flush L1s on resubscribe without a single caller error.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { uid } from './counted'
import {
  envPort,
  type RedisClusterProcesses,
  type RedisProcess,
  redisCli,
  sharedRedis,
  startRedisCluster,
  startRedisServer,
} from './servers'

const repoRoot = join(__dirname, '..', '..', '..')
const script = join(__dirname, 'fixtures', 'replica.ts')
const BASE = envPort('REDIS_BUS_PORT', 7240)

type Fn = 'price' | 'stock' | 'user' | 'item' | 'offer'
interface Call {
  readonly value: string
  readonly l2Read: boolean
}
interface Status {
  readonly l1Active: boolean
  readonly events: { type: string; state?: string; reason?: string; cause?: string }[]
  readonly reports: string[]
  readonly unhandled: string[]
}

/** A replica process and its command channel; `open` gives it a fresh state (client, tier) on a server. */
interface Replica {
  /** The client name of its current state, for CLIENT LIST. */
  name: string
  /** `cluster`: `url` is a node of a Redis Cluster. */
  open(url: string, prefix: string, cluster?: boolean): Promise<void>
  send(cmd: string, fields?: { fn?: Fn; arg?: number; value?: string; count?: number }): Promise<unknown>
  call(fn: Fn, arg: number): Promise<Call>
  status(): Promise<Status>
  exit(): Promise<void>
}

async function startReplica(): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      for (const w of waiting.values()) w.reject(new Error(`replica exited (${code}): ${stderr}`))
      resolve()
    })
  })
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const reply = JSON.parse(line) as { id: number; result?: unknown; error?: string }
    const w = waiting.get(reply.id)
    waiting.delete(reply.id)
    if (reply.error !== undefined) w?.reject(new Error(`${replica.name}: ${reply.error}`))
    else w?.resolve(reply.result)
  })
  let next = 0
  const send = (cmd: string, fields = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = ++next
      waiting.set(id, { resolve, reject })
      child.stdin?.write(`${JSON.stringify({ id, cmd, ...fields })}\n`)
    })
  const replica: Replica = {
    name: '',
    async open(url, prefix, cluster = false) {
      replica.name = uid('memokit-replica')
      await send('open', { url, prefix, name: replica.name, cluster })
    },
    send,
    call: (fn, arg) => send('call', { fn, arg }) as Promise<Call>,
    status: () => send('status') as Promise<Status>,
    async exit() {
      if (child.exitCode !== null) return
      await send('exit').catch(() => {})
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(killer)
    },
  }
  await new Promise<unknown>((resolve, reject) => waiting.set(0, { resolve, reject }))
  return replica
}

let shared: { url: string; stop(): Promise<void> }
const servers: RedisProcess[] = []
// Three processes serve every test (starting one takes seconds on a busy machine); each test opens fresh states.
let pool: Replica[] = []
beforeAll(async () => {
  shared = await sharedRedis(BASE + 4)
  pool = await Promise.all([startReplica(), startReplica(), startReplica()])
}, 60_000)
afterAll(async () => {
  await Promise.all(pool.map((r) => r.exit()))
  await Promise.all(servers.map((s) => s.stop()))
  await shared.stop()
}, 30_000)

async function replicas(count: number, url = shared.url, cluster = false, prefix = uid('memokit-tiered')) {
  const chosen = pool.slice(0, count)
  await Promise.all(chosen.map((r) => r.open(url, prefix, cluster)))
  const heard = await Promise.all(chosen.map((r) => r.send('settle', { count })))
  expect(heard).toEqual(chosen.map(() => count))
  return chosen
}

const values = async (replica: Replica, calls: [Fn, number][]): Promise<string[]> => {
  const out: string[] = []
  for (const [fn, arg] of calls) out.push((await replica.call(fn, arg)).value)
  return out
}

describe('two replicas on one Redis', () => {
  it("B returns A's new value once it received A's message, read from L2 (not recomputed, not its old L1 copy)", async () => {
    const [a, b] = (await replicas(2)) as [Replica, Replica]
    await b.send('mark')
    expect(await a.call('price', 1)).toEqual({ value: 'price-1-v1', l2Read: true })
    // A's write is published: B reads after it dropped what it may hold (nothing yet).
    expect(await b.send('waitReceived', { count: 1 })).toEqual(['keys'])
    // B's first read goes to L2 (A's value); its second is an L1 hit.
    expect(await b.call('price', 1)).toEqual({ value: 'price-1-v1', l2Read: true })
    expect(await b.call('price', 1)).toEqual({ value: 'price-1-v1', l2Read: false })
    await a.send('origin', { fn: 'price', value: 'v2' })
    await b.send('mark')
    expect(await a.send('refresh', { fn: 'price', arg: 1 })).toBe('price-1-v2')
    expect(await b.send('waitReceived', { count: 1 })).toEqual(['keys'])
    // B's origin still says v1: v2 can only come from L2.
    expect(await b.call('price', 1)).toEqual({ value: 'price-1-v2', l2Read: true })

    await b.send('mark')
    expect(await a.send('delete', { fn: 'price', arg: 1 })).toBe(true)
    expect(await b.send('waitReceived', { count: 1 })).toEqual(['keys'])
    // Gone from L2 and B's L1: B computes its own value.
    expect(await b.call('price', 1)).toEqual({ value: 'price-1-v1', l2Read: true })
    for (const r of [a, b]) expect((await r.status()).unhandled).toEqual([])
  })
})

describe('three replicas on one Redis', () => {
  it('a function clear, then a namespace clear, drop exactly their entries on every replica', async () => {
    const all = await replicas(3)
    const [a] = all as [Replica]
    const calls: [Fn, number][] = [
      ['price', 1],
      ['price', 2],
      ['stock', 1],
      ['user', 1],
    ]
    // Every replica holds every entry in its L1 (the first computed them, the others read L2 once they received
    // the first's writes, which would drop their copies).
    for (const r of all.slice(1)) await r.send('mark')
    await values(a, calls)
    for (const r of all.slice(1)) expect(await r.send('waitReceived', { count: 4 })).toHaveLength(4)
    for (const r of all.slice(1)) await values(r, calls)
    for (const r of all) for (const [fn, arg] of calls) expect((await r.call(fn, arg)).l2Read).toBe(false)
    // From now on, a recomputation anywhere shows v2.
    for (const r of all)
      for (const fn of ['price', 'stock', 'user'] as const) await r.send('origin', { fn, value: 'v2' })

    for (const r of all) await r.send('mark')
    await a.send('clearFn', { fn: 'price' })
    for (const r of all.slice(1)) expect(await r.send('waitReceived', { count: 1 })).toEqual(['prefix'])
    for (const r of all) {
      expect(await values(r, calls)).toEqual(['price-1-v2', 'price-2-v2', 'stock-1-v1', 'user-1-v1'])
    }

    for (const r of all) await r.send('mark')
    await a.send('clearShop')
    for (const r of all.slice(1)) expect(await r.send('waitReceived', { count: 1 })).toEqual(['namespace'])
    for (const r of all) {
      expect(await values(r, calls)).toEqual(['price-1-v2', 'price-2-v2', 'stock-1-v2', 'user-1-v1'])
      expect((await r.status()).unhandled).toEqual([])
    }
  })
})

/** The ids of `name`'s subscriber connections on the server at `port`. */
async function subscriberIds(port: number, name: string): Promise<string[]> {
  const list = await redisCli(port, 'client', 'list')
  return list
    .split('\n')
    .filter((line) => / sub=[1-9]/.test(line) && line.includes(` name=${name} `))
    .map((line) => (/^id=(\d+)/.exec(line) as RegExpExecArray)[1] as string)
}

const labels = (status: Status): string[] => status.events.map((e) => `${e.type}:${e.state ?? e.reason}`)

/** Down, then (later) the L1 flushed on the transport's 'up' and in use again. */
const recovered = (status: Status): boolean => {
  const seen = labels(status)
  const down = seen.indexOf('state:down')
  return down >= 0 && seen.slice(down).join(',').includes('flush:up,state:up') && status.l1Active
}

/** Polls a replica's status until it recovered (or `timeoutMs` passed), and returns the last one. */
async function recovery(replica: Replica, timeoutMs: number): Promise<Status> {
  const deadline = Date.now() + timeoutMs
  let status = await replica.status()
  while (!recovered(status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    status = await replica.status()
  }
  return status
}

describe('tags across replicas', () => {
  it('a tag invalidated on one replica recomputes exactly its entries on every replica', async () => {
    const replicas3 = await replicas(3)
    const [a, b, c] = replicas3 as [Replica, Replica, Replica]
    const calls: [Fn, number][] = [
      ['item', 1],
      ['offer', 1],
      ['item', 2],
      ['user', 1],
    ]
    for (const r of replicas3)
      expect(await values(r, calls)).toEqual(['item-1-v1', 'offer-1-v1', 'item-2-v1', 'user-1-v1'])
    for (const r of replicas3) {
      for (const fn of ['item', 'offer', 'user'] as const) await r.send('origin', { fn, value: 'v2' })
    }
    await Promise.all([a.send('mark'), c.send('mark')])
    await b.send('invalidateTags', { value: 'item:1' })
    // One write of the tag's token, published like any write.
    expect(await a.send('waitReceived', { count: 1 })).toEqual(['keys'])
    expect(await c.send('waitReceived', { count: 1 })).toEqual(['keys'])
    for (const r of [a, c, b]) {
      expect(await values(r, calls)).toEqual(['item-1-v2', 'offer-1-v2', 'item-2-v1', 'user-1-v1'])
    }
  })
})

/** Calls `fn(arg)` on `replica` until it returns `want` (or `ms` pass); returns how long that took. */
async function until(replica: Replica, fn: Fn, arg: number, want: string, ms: number): Promise<number> {
  const start = Date.now()
  while ((await replica.call(fn, arg)).value !== want) {
    if (Date.now() - start > ms) throw new Error(`${replica.name} still does not return ${want} after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return Date.now() - start
}

describe('lost messages', () => {
  it('one message lost while the bus is up: the gap (seen at the next heartbeat) flushes the L1', async () => {
    const [a, b] = (await replicas(2)) as [Replica, Replica]
    expect(await values(b, [['price', 1]])).toEqual(['price-1-v1'])
    expect((await b.call('price', 1)).l2Read).toBe(false)
    await b.send('dropNext', { count: 1 })
    await a.send('origin', { fn: 'price', value: 'v2' })
    expect(await a.send('refresh', { fn: 'price', arg: 1 })).toBe('price-1-v2')
    // B lost the message, so it may serve its L1 copy until A's next heartbeat (1 s) shows the gap.
    expect(await until(b, 'price', 1, 'price-1-v2', 5000)).toBeLessThan(5000)
    expect(await b.send('flushes')).toContain('gap')
    expect((await b.status()).unhandled).toEqual([])
  })

  it('every message lost, heartbeats too: the replica stops trusting its L1 and serves the shared value', async () => {
    const [a, b] = (await replicas(2)) as [Replica, Replica]
    expect(await values(b, [['price', 1]])).toEqual(['price-1-v1'])
    await b.send('dropAll', { value: 'on' })
    await a.send('origin', { fn: 'price', value: 'v2' })
    expect(await a.send('refresh', { fn: 'price', arg: 1 })).toBe('price-1-v2')
    // Its own heartbeats stop coming back (3 s): from then on it reads L2, never its stale copy past maxL1Age.
    expect(await until(b, 'price', 1, 'price-1-v2', 8000)).toBeLessThan(8000)
    expect((await b.status()).l1Active).toBe(false)
    await b.send('dropAll', { value: 'off' })
    const back = Date.now()
    while (!(await b.status()).l1Active && Date.now() - back < 8000) await new Promise((r) => setTimeout(r, 100))
    const status = await b.status()
    expect(status.l1Active).toBe(true)
    expect(status.reports).toEqual([])
    expect(status.unhandled).toEqual([])
  })
})

describe('faults', () => {
  it('the subscriber connection killed: its L1 is flushed on resubscribe and no call fails', async () => {
    const port = Number(new URL(shared.url).port || 6379)
    const [, b] = (await replicas(2)) as [Replica, Replica]
    // price(7) is left alone by the hammer below: only a flush can take it out of B's L1.
    await values(b, [['price', 7]])
    expect((await b.call('price', 7)).l2Read).toBe(false)
    const [id] = await subscriberIds(port, b.name)
    expect(id).toBeDefined()
    const hammer = b.send('hammer', { count: 600 }) as Promise<{ calls: number; failures: string[] }>
    await redisCli(port, 'client', 'kill', 'id', id as string)
    const { calls, failures } = await hammer
    expect(calls).toBeGreaterThan(10)
    expect(failures).toEqual([])
    const status = await recovery(b, 5000)
    expect(labels(status)).toEqual(expect.arrayContaining(['state:down', 'flush:up', 'state:up']))
    expect(recovered(status)).toBe(true)
    expect(status.unhandled).toEqual([])
    expect(status.reports).toEqual([])
    // The L1 copy from before the kill is gone: the next read goes to L2.
    expect(await b.call('price', 7)).toEqual({ value: 'price-7-v1', l2Read: true })
  })

  it('the server killed and restarted: every replica goes down, flushes its L1 when up again, and no call fails', async () => {
    const server = await startRedisServer(BASE + 3)
    servers.push(server)
    const all = await replicas(2, server.url)
    // price(7) is left alone by the hammers below: each L1 holds it until a flush.
    for (const r of all) await values(r, [['price', 7]])
    const hammers = all.map((r) => r.send('hammer', { count: 1500 }) as Promise<{ calls: number; failures: string[] }>)
    await new Promise((resolve) => setTimeout(resolve, 100))
    server.signal('SIGKILL')
    await server.exited()
    await new Promise((resolve) => setTimeout(resolve, 300))
    await server.restart()
    for (const { calls, failures } of await Promise.all(hammers)) {
      expect(calls).toBeGreaterThan(10)
      expect(failures).toEqual([])
    }
    for (const r of all) {
      const status = await recovery(r, 8000)
      expect(labels(status)).toEqual(expect.arrayContaining(['state:down', 'flush:up', 'state:up']))
      expect(recovered(status)).toBe(true)
      expect(status.unhandled).toEqual([])
    }
    // The restarted server is empty and the L1s were flushed: a new origin value shows everywhere.
    for (const r of all) await r.send('origin', { fn: 'price', value: 'v3' })
    for (const r of all) expect((await r.call('price', 7)).value).toBe('price-7-v3')
  })
})

describe('on a Redis Cluster (sharded pub/sub)', () => {
  let cluster: RedisClusterProcesses
  beforeAll(async () => {
    cluster = await startRedisCluster(envPort('REDIS_BUS_REPLICA_CLUSTER_PORT', 7260))
  }, 60_000)
  afterAll(async () => {
    // The replicas' clients go first, so none is left reconnecting to a stopped node.
    for (const r of pool) await r.open(shared.url, uid('memokit-tiered'))
    await cluster?.stop()
  }, 30_000)

  it("B returns A's new value once it received A's message, over a shard channel on one master", async () => {
    const prefix = uid('memokit-tiered')
    const [a, b] = (await replicas(2, cluster.rootNodes[0]?.url, true, prefix)) as [Replica, Replica]
    // The tier's channel is named after the L2's scope (which holds the prefix): exactly one master serves it,
    // as a shard channel.
    const listed = await Promise.all(
      cluster.nodes.map((n) => redisCli(n.port, 'pubsub', 'shardchannels', `*${prefix}*`)),
    )
    expect(listed.filter((out) => out.trim() !== '')).toHaveLength(1)
    await b.send('mark')
    expect(await a.call('price', 1)).toEqual({ value: 'price-1-v1', l2Read: true })
    expect(await b.send('waitReceived', { count: 1 })).toEqual(['keys'])
    expect(await b.call('price', 1)).toEqual({ value: 'price-1-v1', l2Read: true })
    expect(await b.call('price', 1)).toEqual({ value: 'price-1-v1', l2Read: false })
    await a.send('origin', { fn: 'price', value: 'v2' })
    await b.send('mark')
    expect(await a.send('refresh', { fn: 'price', arg: 1 })).toBe('price-1-v2')
    expect(await b.send('waitReceived', { count: 1 })).toEqual(['keys'])
    expect(await b.call('price', 1)).toEqual({ value: 'price-1-v2', l2Read: true })
    await b.send('mark')
    await a.send('clearShop')
    expect(await b.send('waitReceived', { count: 1 })).toEqual(['namespace'])
    expect(await b.call('price', 1)).toEqual({ value: 'price-1-v1', l2Read: true })
    for (const r of [a, b]) expect((await r.status()).unhandled).toEqual([])
  })
})
