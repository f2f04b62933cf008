/**
 * The soak's Redis Cluster: 3 masters + 3 replicas started with the Redis tests' own starter, and its chaos step:
 * SIGKILL one master by PID, wait until its replica took over (ROLE on every live node, then cluster_state:ok on
 * each), start the killed node again, empty, on its port, and wait until it is back as the new master's replica.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  liveMasters,
  type RedisClusterProcesses,
  type RedisProcess,
  redisCli,
  startRedisCluster,
} from '../../redis/test/servers'
import type { CacheServer } from './servers'

/** How long a failover or a rejoin may take before the run fails: seconds on a loaded machine, never this long. */
const FAILOVER_TIMEOUT_MS = 30_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function poll(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + FAILOVER_TIMEOUT_MS
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** The node's `CONFIG GET name` value (redis-cli prints the name, then the value). */
async function configValue(node: RedisProcess, name: string): Promise<string> {
  return ((await redisCli(node.port, 'config', 'get', name)).split('\n')[1] ?? '').trim()
}

/** One kill of the chaos step, until the killed node is back. */
interface Kill {
  readonly victim: RedisProcess
  readonly pid: number
  readonly at: number
  /** The masters' ports before the kill: the promoted replica is the live master not among them. */
  readonly mastersBefore: readonly number[]
}

/** SIGKILLs the `n`-th live master (so repeated kills go round the masters) and waits until it is gone. */
async function killMaster(cluster: RedisClusterProcesses, n: number): Promise<Kill> {
  const masters = await liveMasters(cluster)
  const victim = masters[n % masters.length]
  if (victim === undefined) throw new Error('redis cluster: no live master to kill')
  // A node that was a replica once keeps the RDB of its sync: restarted with it, it would load old entries. It
  // comes back empty instead, as the standalone server does.
  const rdb = join(await configValue(victim, 'dir'), await configValue(victim, 'dbfilename'))
  const pid = victim.pid
  const at = Date.now()
  victim.signal('SIGKILL')
  await victim.exited()
  rmSync(rdb, { force: true })
  return { victim, pid, at, mastersBefore: masters.map((m) => m.port) }
}

/** Waits until a replica serves the victim's slots (3 live masters, cluster_state:ok everywhere); says which. */
async function failover(cluster: RedisClusterProcesses, kill: Kill): Promise<string> {
  let promoted: RedisProcess | undefined
  await poll(`a replica to take over from :${kill.victim.port}`, async () => {
    const masters = await liveMasters(cluster)
    promoted = masters.find((m) => !kill.mastersBefore.includes(m.port))
    return masters.length === kill.mastersBefore.length && promoted !== undefined
  })
  await cluster.waitHealthy()
  return `:${promoted?.port} promoted after ${Date.now() - kill.at} ms`
}

/** Starts the victim again and waits until it is a replica with its link up and the cluster is ok everywhere. */
async function rejoin(cluster: RedisClusterProcesses, kill: Kill): Promise<string> {
  const { victim } = kill
  await victim.restart()
  await poll(`:${victim.port} to rejoin as a replica`, async () => {
    const role = await redisCli(victim.port, 'role')
    const replication = await redisCli(victim.port, 'info', 'replication')
    return role.startsWith('slave') && replication.includes('master_link_status:up')
  })
  await cluster.waitHealthy()
  return `:${victim.port} back as a replica after ${Date.now() - kill.at} ms`
}

/**
 * Starts the cluster on ports `basePort`..`basePort + 5`. Its `url` lists the nodes' URLs, comma-separated (the
 * cluster client's root nodes); `kill` SIGKILLs a master, `restart` waits for the failover and brings the node back
 * as a replica, and resolves to what happened (for the report).
 */
export async function clusterServer(basePort: number): Promise<CacheServer> {
  const cluster = await startRedisCluster(basePort)
  let kills = 0
  let current: Kill | undefined
  return {
    url: cluster.rootNodes.map((node) => node.url).join(','),
    crash: 'SIGKILL of a master',
    async kill() {
      current = await killMaster(cluster, kills++)
    },
    async restart() {
      const kill = current
      if (kill === undefined) throw new Error('redis cluster: restart without a kill')
      current = undefined
      const promoted = await failover(cluster, kill)
      const back = await rejoin(cluster, kill)
      return `master :${kill.victim.port} (pid ${kill.pid}) SIGKILLed, ${promoted}, ${back}`
    },
    stop: () => cluster.stop(),
  }
}
