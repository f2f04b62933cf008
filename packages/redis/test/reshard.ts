// A real 6-node Redis Cluster whose slots a test moves between masters step by step, as `redis-cli --cluster
// reshard` does (SETSLOT IMPORTING/MIGRATING, MIGRATE key by key, SETSLOT NODE), so operations can be sent while a
// slot is half moved: they meet ASK redirections and TRYAGAIN. Used by cluster-reshard.test.ts, whose one cluster
// serves both clients' scenarios. The moves go through plain node-redis clients of each master, never through the
// client under test.
import { createClient, RESP_TYPES, type RedisClientType } from 'redis'
import { keySlot } from '../src/slots'
import { type RedisClusterProcesses, startRedisCluster } from './servers'

/** A cluster started for resharding, and the moves a test makes on it. */
export interface ReshardCluster {
  readonly processes: RedisClusterProcesses
  /** The master's port, by node id. */
  portOf(id: string): number
  /** Keys in `slot` on the master `id` (CLUSTER COUNTKEYSINSLOT). */
  countInSlot(id: string, slot: number): Promise<number>
  /** Up to `count` keys of `slot` held by the master `id`, as bytes (a lease key is not valid UTF-8). */
  keysInSlot(id: string, slot: number, count: number): Promise<Buffer[]>
  /** The slot of a key as sent to the server, the master holding it now, and another master to move it to. */
  placeOf(key: string): { slot: number; from: string; to: string }
  /**
   * Moves `slot` to the master `to`, calling `between` once the slot is MIGRATING/IMPORTING (0 keys moved) and
   * after each MIGRATE of `batch` keys (the keys moved so far), then hands the slot over on every master. A failing
   * `between` still completes the move (so the next test starts from a settled cluster), then rejects with its error.
   */
  migrateSlot(slot: number, to: string, between?: (moved: number) => Promise<void>, batch?: number): Promise<void>
  stop(): Promise<void>
}

// Who owns each slot, read from CLUSTER NODES.
async function slotOwners(any: RedisClientType): Promise<Map<number, string>> {
  const owners = new Map<number, string>()
  for (const line of String(await any.sendCommand(['CLUSTER', 'NODES'])).split('\n')) {
    const [id, , flags, , , , , , ...ranges] = line.split(' ')
    if (!flags?.includes('master') || id === undefined) continue
    for (const range of ranges) {
      if (range.startsWith('[')) continue
      const [from, to = from] = range.split('-').map(Number)
      for (let s = from as number; s <= (to as number); s++) owners.set(s, id)
    }
  }
  return owners
}

/** Starts a 3-master + 3-replica cluster on basePort..basePort+5 (about 2 s) and connects to each master. */
export async function startReshardCluster(basePort: number): Promise<ReshardCluster> {
  const processes = await startRedisCluster(basePort)
  const nodes = new Map<string, RedisClientType>()
  const ports = new Map<string, number>()
  const stop = async (): Promise<void> => {
    await Promise.all([...nodes.values()].map((c) => c.close().catch(() => c.destroy())))
    await processes.stop()
  }
  try {
    for (const n of processes.nodes) {
      const c = createClient({ url: n.url }) as RedisClientType
      c.on('error', () => {})
      await c.connect()
      if (String(((await c.sendCommand(['ROLE'])) as unknown[])[0]) !== 'master') {
        await c.close()
        continue
      }
      const id = String(await c.sendCommand(['CLUSTER', 'MYID']))
      nodes.set(id, c)
      ports.set(id, n.port)
    }
  } catch (error) {
    await stop()
    throw error
  }
  const owners = await slotOwners([...nodes.values()][0] as RedisClientType)
  const node = (id: string): RedisClientType => {
    const n = nodes.get(id)
    if (n === undefined) throw new Error(`no master ${id}`)
    return n
  }
  const keysInSlot = async (id: string, slot: number, count: number): Promise<Buffer[]> =>
    (await node(id)
      .withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
      .sendCommand(['CLUSTER', 'GETKEYSINSLOT', String(slot), String(count)])) as Buffer[]

  return {
    processes,
    portOf: (id) => ports.get(id) as number,
    countInSlot: async (id, slot) => Number(await node(id).sendCommand(['CLUSTER', 'COUNTKEYSINSLOT', String(slot)])),
    keysInSlot,
    placeOf(key) {
      const slot = keySlot(key)
      const from = owners.get(slot) as string
      return { slot, from, to: [...nodes.keys()].find((id) => id !== from) as string }
    },
    async migrateSlot(slot, to, between = async () => {}, batch = 1) {
      const from = owners.get(slot) as string
      if (from === to) return
      const src = node(from)
      await node(to).sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from])
      await src.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to])
      let failed: unknown
      const step = (moved: number) =>
        between(moved).catch((error: unknown) => {
          failed ??= error
        })
      await step(0)
      for (let moved = 0; ; ) {
        const keys = await keysInSlot(from, slot, batch)
        if (keys.length === 0) break
        await src.sendCommand(['MIGRATE', '127.0.0.1', String(ports.get(to)), '', '0', '5000', 'KEYS', ...keys])
        moved += keys.length
        await step(moved)
      }
      for (const n of nodes.values()) await n.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', to])
      owners.set(slot, to)
      if (failed !== undefined) throw failed
    },
    stop,
  }
}

/**
 * Orders the entry walks (not the lease walks) of one clear: the walk on the master at port `hold` starts only once
 * the one on port `first` is over, and after `between` (which moves a slot). Returns a wrapper for one SCAN step:
 * `scan` sends it, `nextCursor` reads the cursor of its reply. The lease walks are told apart by their pattern,
 * which holds the lease mark byte 0xff.
 */
export function entryWalksInOrder(
  first: number,
  hold: number,
  between: () => Promise<void>,
): <R>(
  port: number,
  cursor: string,
  match: string | Buffer,
  scan: () => Promise<R>,
  next: (r: R) => string,
) => Promise<R> {
  let firstDone: () => void = () => {}
  const firstOver = new Promise<void>((resolve) => {
    firstDone = resolve
  })
  return async (port, cursor, match, scan, next) => {
    const entries = !(typeof match === 'string' ? Buffer.from(match) : match).includes(0xff)
    if (entries && port === hold && cursor === '0') {
      await firstOver
      await between()
    }
    const reply = await scan()
    if (entries && port === first && next(reply) === '0') firstDone()
    return reply
  }
}
