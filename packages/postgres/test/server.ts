// PostgreSQL for the tests: the machine's server on 127.0.0.1:5432 when it answers, or an instance of our own
// (initdb into a temp dir, `postgres` on its own port, run as the `postgres` OS user when we are root).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'

export function portFromEnv(variable: string, fallback: number): number {
  const raw = process.env[variable]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${variable} must be a port, got ${raw}`)
  return port
}

/** A fresh table name for one test file, so files and runs never share a table. */
export const uniqueTable = (label: string): string => `memokit_${label}_${randomBytes(4).toString('hex')}`

export const rand = (): string => randomBytes(6).toString('hex')

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Where initdb and postgres live: `MEMOKIT_PG_BIN`, Debian's /usr/lib/postgresql/<newest>/bin, or PATH. */
export function postgresBin(): string | undefined {
  if (process.env.MEMOKIT_PG_BIN) return process.env.MEMOKIT_PG_BIN
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a))
    if (versions[0] !== undefined) return path.join(root, versions[0], 'bin')
  }
  try {
    return path.dirname(execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim()) || undefined
  } catch {
    return undefined
  }
}

/** A PostgreSQL this test file started. */
export interface OwnServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string
  readonly port: number
  /** The postmaster's PID (changes with `restart`). */
  readonly pid: number
  /** SIGKILL to the postmaster, by PID: a crash (its backends notice and exit on their own). */
  kill(): void
  /** SIGSTOP to the postmaster and every process it started: connections stay open, nothing answers. */
  freeze(): void
  /** SIGCONT to the same processes. */
  thaw(): void
  /** Starts the server again on the same data directory and port (after `kill`), retrying until it comes up. */
  restart(): Promise<void>
  /** Stops the server by its PID (if still running) and removes its directory. */
  stop(): Promise<void>
}

// As root, initdb and postgres refuse to run: they run as the postgres OS user, which must own the directory.
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
  return { uid, gid }
}

/** Starts a throwaway PostgreSQL on 127.0.0.1:`port` (trust auth, no fsync): a few seconds, initdb included. */
export async function startPostgres(port: number): Promise<OwnServer> {
  if (await portInUse(port)) throw new Error(`port ${port} is taken; set another one (see README, "Testing")`)
  const bin = postgresBin()
  if (bin === undefined) {
    throw new Error('initdb not found: apt-get install postgresql, or set MEMOKIT_PG_BIN to its bin directory')
  }
  const user = runAs()
  const dir = mkdtempSync(path.join(tmpdir(), 'memokit-pg-'))
  if (user !== undefined) chownSync(dir, user.uid, user.gid)
  const data = path.join(dir, 'data')
  const options = { ...user, stdio: 'pipe' as const, cwd: dir, env: { ...process.env, LC_ALL: 'C' } }
  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '-N'], options)
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  // The tail of the postmaster's log, for the error when it will not start (its own FATAL line says why).
  let log = ''
  const launch = (): ChildProcess => {
    const started = spawn(path.join(bin, 'postgres'), args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] })
    started.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-2000)
    })
    return started
  }
  let child: ChildProcess = launch()
  let frozen: number[] = []
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  const exited = (): Promise<void> =>
    running() ? new Promise((resolve) => child.once('exit', () => resolve())) : Promise.resolve()
  const waitReady = async (): Promise<void> => {
    const deadline = Date.now() + 20_000
    while (!(await ready(url))) {
      if (!running() || Date.now() > deadline) {
        throw new Error(
          `postgres on port ${port} did not start; its log ends:\n${log.trim().split('\n').slice(-6).join('\n')}`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const stop = async (): Promise<void> => {
    for (const pid of frozen) signalPid(pid, 'SIGCONT')
    if (running()) {
      child.kill('SIGKILL')
      await exited()
    }
    rmSync(dir, { recursive: true, force: true })
  }
  // Until the backends of a postmaster killed moments ago (by this or an earlier test file) exit, a new one may
  // refuse to start: keep trying for a while, as restart() does.
  const startUntilReady = async (): Promise<void> => {
    const deadline = Date.now() + 15_000
    for (;;) {
      try {
        await waitReady()
        return
      } catch (error) {
        if (running()) child.kill('SIGKILL')
        await exited()
        if (Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 200))
        child = launch()
      }
    }
  }
  try {
    await startUntilReady()
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url,
    port,
    get pid() {
      return child.pid as number
    },
    kill: () => signalPid(child.pid as number, 'SIGKILL'),
    freeze() {
      frozen = [child.pid as number, ...descendants(child.pid as number)]
      for (const pid of frozen) signalPid(pid, 'SIGSTOP')
    },
    thaw() {
      for (const pid of frozen) signalPid(pid, 'SIGCONT')
      frozen = []
    },
    async restart() {
      await exited()
      child = launch()
      await startUntilReady()
    },
    stop,
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // Already gone.
  }
}

/** Every process below `pid` (read from /proc: the postmaster's backends and auxiliary processes). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parents.set(Number(entry), ppid)
    } catch {
      // Exited meanwhile.
    }
  }
  const found: number[] = []
  const walk = (parent: number): void => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child)
        walk(child)
      }
    }
  }
  walk(pid)
  return found
}

async function ready(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * The server a behaviour test file uses: `MEMOKIT_PG_URL`, else the machine's on 127.0.0.1:5432 (database `test`),
 * else one of its own on `port` (each file passes its own, so files running in parallel never collide). `stop`
 * stops only what was started here.
 */
export async function testServer(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env.MEMOKIT_PG_URL
  if (given) return { url: given, stop: async () => undefined }
  const shared = 'postgres://postgres@127.0.0.1:5432/test'
  // MEMOKIT_PG_OWN=1 plays the fresh CI machine: an own server even when 5432 answers.
  if (!process.env.MEMOKIT_PG_OWN && (await ready(shared))) return { url: shared, stop: async () => undefined }
  const own = await startPostgres(port)
  return { url: own.url, stop: own.stop }
}
