// Starts and stops real redis-server processes for the tests: standalone, a 6-node cluster, and Sentinel.
// Every process is spawned (not daemonized) so its PID is known at once, stopped by PID, and killed on exit
// if a test run dies before afterAll.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)
const HOST = '127.0.0.1'

/**
 * Socket options of the test clients that ride out a failover (Cluster and Sentinel): quick reconnects, and a
 * connect timeout that is not short. A killed node refuses at once anyway; a 500 ms timeout fired on a busy test
 * machine (an event loop held longer than that) and kept a Cluster client offline through a whole contract run.
 */
export const FAILOVER_SOCKET = {
  connectTimeout: 2000,
  reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 500),
} as const

/** A port from the environment, or the default. */
export function envPort(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${name}=${raw} is not a port number`)
  return port
}

/**
 * The machine's shared standalone server (`REDIS_URL`, else 127.0.0.1:6379 if it answers; never flushed: tests use
 * unique prefixes). Where none runs, a server of our own on `fallbackPort`, stopped by `stop()`.
 */
export async function sharedRedis(fallbackPort: number): Promise<{ url: string; stop(): Promise<void> }> {
  const fromEnv = process.env.REDIS_URL
  if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, stop: async () => {} }
  const answers = await redisCli(6379, 'ping').then(
    (out) => out.includes('PONG'),
    () => false,
  )
  if (answers) return { url: `redis://${HOST}:6379`, stop: async () => {} }
  const own = await startRedisServer(fallbackPort)
  return { url: own.url, stop: () => own.stop() }
}

const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** Runs redis-cli against a local port and returns its output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await exec('redis-cli', ['-h', HOST, '-p', String(port), ...args], { timeout: 5000 })
  return stdout
}

/** Resolves once `check` answers true (a rejection counts as false), polled every 30 ms; throws naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 30))
  }
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** One redis-server process started by a test. */
export interface RedisProcess {
  readonly port: number
  readonly url: string
  /** PID of the current process (changes after `restart`). */
  readonly pid: number
  /** False once the process has exited (after a kill, until `restart`). */
  readonly alive: boolean
  /** Sends a signal to the process (SIGKILL to crash it, SIGSTOP/SIGCONT to hang and resume it). */
  signal(signal: NodeJS.Signals): void
  /** Waits until the process has exited (after a SIGKILL). */
  exited(): Promise<void>
  /** Starts the server again on the same port and waits until it answers. */
  restart(): Promise<void>
  /** Stops the process (resuming it first if stopped) and waits for it to exit. Idempotent. */
  stop(): Promise<void>
}

/** Starts a redis-server on `port` with extra arguments, or a config file when `configFile` is given. */
export async function startRedisServer(
  port: number,
  extraArgs: readonly string[] = [],
  options: {
    readonly configFile?: string
    readonly dir?: string
    readonly name?: string
    /** Extra redis-cli arguments for the readiness check, e.g. `--tls --cacert ca.crt` for a TLS-only server. */
    readonly cliArgs?: readonly string[]
  } = {},
): Promise<RedisProcess> {
  if (await portInUse(port)) {
    throw new Error(`port ${port} is in use: stop what runs there or choose other ports via the environment`)
  }
  const ownDir = options.dir === undefined
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `memokit-redis-${port}-`))
  const args = [
    ...(options.configFile === undefined ? [] : [options.configFile]),
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--dbfilename',
    `dump-${port}.rdb`,
    '--logfile',
    join(dir, `redis-${port}.log`),
    ...extraArgs,
  ]
  let child: ChildProcess
  let exit: Promise<void>
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: 'ignore' })
    running.add(child)
    const current = child
    exit = new Promise((resolve) => {
      current.once('exit', () => {
        running.delete(current)
        resolve()
      })
    })
    await until(`redis-server on port ${port}${options.name ? ` (${options.name})` : ''}`, async () => {
      if (current.exitCode !== null) throw new Error(`redis-server on port ${port} exited: see ${dir}`)
      return (await redisCli(port, ...(options.cliArgs ?? []), 'ping')).includes('PONG')
    })
  }
  await launch()
  let stopped = false
  return {
    port,
    url: `redis://${HOST}:${port}`,
    get pid() {
      return child.pid ?? -1
    },
    get alive() {
      return child.exitCode === null && child.signalCode === null
    },
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    exited: () => exit,
    async restart() {
      await exit
      await launch()
    },
    async stop() {
      if (stopped) return
      stopped = true
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT')
        child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), 3000)
        await exit
        clearTimeout(killer)
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A 3-master + 3-replica cluster started by a test. */
export interface RedisClusterProcesses {
  readonly nodes: readonly RedisProcess[]
  /** Root nodes for `createCluster`. */
  readonly rootNodes: readonly { url: string }[]
  /** The node currently serving `key` as master. */
  masterFor(key: string): Promise<RedisProcess>
  /** Waits until every live node reports cluster_state:ok. */
  waitHealthy(): Promise<void>
  stop(): Promise<void>
}

/** Starts a 6-node cluster (3 masters, 3 replicas) on ports base..base+5: about 2 s. */
export async function startRedisCluster(basePort: number): Promise<RedisClusterProcesses> {
  const dir = mkdtempSync(join(tmpdir(), `memokit-cluster-${basePort}-`))
  const ports = Array.from({ length: 6 }, (_, i) => basePort + i)
  const nodes: RedisProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) {
      nodes.push(
        await startRedisServer(
          port,
          [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            '500',
            '--repl-diskless-sync-delay',
            '0',
          ],
          { dir },
        ),
      )
    }
    await redisCli(
      basePort,
      '--cluster',
      'create',
      ...ports.map((p) => `${HOST}:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    )
    const waitHealthy = async (): Promise<void> => {
      await until('cluster_state:ok on every live node', async () => {
        const live = nodes.filter((n) => n.alive)
        const infos = await Promise.all(live.map((n) => redisCli(n.port, 'cluster', 'info')))
        return infos.every((info) => info.includes('cluster_state:ok'))
      })
    }
    await until('cluster_state:ok on all nodes', async () => {
      const infos = await Promise.all(ports.map((p) => redisCli(p, 'cluster', 'info')))
      return infos.every((info) => info.includes('cluster_state:ok'))
    })
    await until('3 replicas linked', async () => {
      const infos = await Promise.all(ports.map((p) => redisCli(p, 'info', 'replication')))
      return infos.filter((info) => info.includes('master_link_status:up')).length === 3
    })
    return {
      nodes,
      rootNodes: nodes.map((n) => ({ url: n.url })),
      async masterFor(key) {
        const slot = Number((await redisCli(basePort, 'cluster', 'keyslot', key)).trim())
        for (const node of nodes) {
          const out = await redisCli(node.port, 'cluster', 'nodes').catch(() => '')
          for (const line of out.split('\n')) {
            const [, address, flags, , , , , , ...ranges] = line.split(' ')
            if (!flags?.includes('myself') || !flags.includes('master')) continue
            for (const range of ranges) {
              const [from, to = from] = range.split('-').map(Number)
              if (from !== undefined && to !== undefined && slot >= from && slot <= to) {
                const port = Number(address?.split(':')[1]?.split('@')[0])
                const found = nodes.find((n) => n.port === port)
                if (found) return found
              }
            }
          }
        }
        throw new Error(`no master serves ${key} (slot ${slot})`)
      },
      waitHealthy,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/** The nodes of `cluster` that are alive and masters now (after a failover: the promoted replica). */
export async function liveMasters(cluster: RedisClusterProcesses): Promise<RedisProcess[]> {
  const masters: RedisProcess[] = []
  for (const node of cluster.nodes) {
    if (!node.alive) continue
    if ((await redisCli(node.port, 'role')).startsWith('master')) masters.push(node)
  }
  return masters
}

/** Keys matching a glob on one node, read with redis-cli (not through the code under test). */
export async function keysOn(node: RedisProcess, pattern: string): Promise<string[]> {
  const out = await redisCli(node.port, '--scan', '--pattern', pattern)
  return out.split('\n').filter((line) => line !== '')
}

/** A master, a replica and 3 sentinels started by a test. */
export interface RedisSentinelProcesses {
  readonly master: RedisProcess
  readonly replica: RedisProcess
  readonly sentinels: readonly RedisProcess[]
  /** The name the sentinels monitor. */
  readonly name: string
  /** Root nodes for `createSentinel`. */
  readonly sentinelRootNodes: readonly { host: string; port: number }[]
  stop(): Promise<void>
}

/** Starts master (dataPort), replica (dataPort + 1) and 3 sentinels (sentinelPort..+2): about 2 s. */
export async function startRedisSentinel(dataPort: number, sentinelPort: number): Promise<RedisSentinelProcesses> {
  const name = 'memokit'
  const dir = mkdtempSync(join(tmpdir(), `memokit-sentinel-${dataPort}-`))
  const started: RedisProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const replication = ['--repl-diskless-sync-delay', '0']
    const master = await startRedisServer(dataPort, replication, { dir, name: 'sentinel master' })
    started.push(master)
    const replica = await startRedisServer(dataPort + 1, [...replication, '--replicaof', HOST, String(dataPort)], {
      dir,
      name: 'sentinel replica',
    })
    started.push(replica)
    const sentinels: RedisProcess[] = []
    for (let i = 0; i < 3; i++) {
      const port = sentinelPort + i
      // Sentinel rewrites its config file, so each one gets its own.
      const configFile = join(dir, `sentinel-${port}.conf`)
      writeFileSync(
        configFile,
        [
          `sentinel monitor ${name} ${HOST} ${dataPort} 2`,
          `sentinel down-after-milliseconds ${name} 500`,
          `sentinel failover-timeout ${name} 3000`,
          '',
        ].join('\n'),
      )
      const sentinel = await startRedisServer(port, ['--sentinel'], { configFile, dir, name: 'sentinel' })
      started.push(sentinel)
      sentinels.push(sentinel)
    }
    await until('replica linked', async () =>
      (await redisCli(replica.port, 'info', 'replication')).includes('master_link_status:up'),
    )
    await until('sentinels see the replica', async () => {
      const outs = await Promise.all(sentinels.map((s) => redisCli(s.port, 'sentinel', 'replicas', name)))
      return outs.every((out) => out.includes(String(replica.port)))
    })
    return {
      master,
      replica,
      sentinels,
      name,
      sentinelRootNodes: sentinels.map((s) => ({ host: HOST, port: s.port })),
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

interface Closable {
  close(): Promise<unknown>
  destroy?(): unknown
}

/**
 * Collects storages and clients a test file opens, so afterAll can close them even when a test failed midway
 * (an open client would keep jest from exiting).
 */
export function disposer(): { track<T extends Closable>(item: T): T; disposeAll(): Promise<void> } {
  const items: Closable[] = []
  return {
    track(item) {
      items.push(item)
      return item
    },
    async disposeAll() {
      await Promise.all(
        items.splice(0).map(async (item) => {
          try {
            await item.close()
          } catch {
            // Already closed, or the server is gone: drop the sockets instead.
            await item.destroy?.()
          }
        }),
      )
    },
  }
}

/** Writes `count` entries `k0..k<count-1>` (value = index) in chunks, so a busy machine never hits the timeout. */
export async function fill(
  storage: { set(namespace: string, key: string, value: unknown): Promise<void> },
  namespace: string,
  count: number,
): Promise<void> {
  for (let start = 0; start < count; start += 200) {
    const end = Math.min(count, start + 200)
    await Promise.all(Array.from({ length: end - start }, (_, i) => storage.set(namespace, `k${start + i}`, start + i)))
  }
}

/**
 * Resolves once `write` has succeeded five times in a row, 100 ms apart (retrying for up to 25 s): after a
 * failover, a client is on the new master for good only then. A failover reaches a Sentinel client in steps, and
 * on a loaded machine node-redis's once took a first write on the new master and then reconnected, so an
 * operation right after the first success timed out.
 */
export async function writesSteadily(write: () => Promise<unknown>): Promise<void> {
  const deadline = performance.now() + 25_000
  for (;;) {
    try {
      for (let n = 0; n < 5; n++) {
        await write()
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      return
    } catch (error) {
      if (performance.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
