// Starts and stops real memcached servers for the tests: `memcached -d -P pidfile`, stopped by that PID only.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Freezes a memcached (SIGSTOP) and resolves once every one of its threads is stopped: the signal takes effect
 * asynchronously, and on a loaded machine a thread may still answer a request sent right after `kill` returned.
 */
export async function freeze(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP')
  const stopped = (): boolean =>
    readdirSync(`/proc/${pid}/task`).every((task) =>
      /^\d+ \(.*\) [Tt]/.test(readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8')),
    )
  await until(`memcached pid ${pid} to stop`, stopped, 3000)
}

/** A memcached this test started. */
export interface MemcachedServer {
  readonly port: number
  readonly address: string
  readonly pid: number
  /** SIGKILL (a crash) or SIGTERM, then waits until the process is gone and the port is free. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
}

/** A port from env (e.g. MEMCACHED_TEST_PORT) or the default; ports 11311-11337 belong to memcached tests. */
export function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${name}=${raw} is not a port`)
  return port
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** True when something accepts connections on the port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

// A killed daemon whose parent doesn't reap it (PID 1 in some containers) lingers as a zombie: count that as gone.
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** Starts `memcached -l 127.0.0.1 -p PORT -U 0 -m 64 -d -P PIDFILE` (plus `-u root` when root) and waits for it. */
export async function startMemcached(port: number, extraArgs: readonly string[] = []): Promise<MemcachedServer> {
  // A port freed moments ago (a previous run, or a restart) needs ~0.5 s; something else there is an error.
  await until(
    `port ${port} to be free (is another memcached running there?)`,
    async () => !(await isListening(port)),
    3000,
  )
  const dir = mkdtempSync(join(tmpdir(), 'memokit-memcached-'))
  const pidFile = join(dir, 'memcached.pid')
  const asRoot = process.getuid?.() === 0 ? ['-u', 'root'] : []
  const args = [
    '-l',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    '0',
    '-m',
    '64',
    ...asRoot,
    '-d',
    '-P',
    pidFile,
    ...extraArgs,
  ]
  await new Promise<void>((resolve, reject) => {
    execFile('memcached', args, (error, _stdout, stderr) => {
      if (error) {
        const hint =
          (error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (install it: apt-get install -y memcached)' : ''
        reject(new Error(`memcached ${args.join(' ')} failed${hint}: ${stderr || error.message}`))
      } else resolve()
    })
  })
  let pid = 0
  await until(
    `memcached's pidfile ${pidFile}`,
    () => {
      try {
        pid = Number(readFileSync(pidFile, 'utf8').trim())
        return pid > 0
      } catch {
        return false
      }
    },
    3000,
  )
  await until(`memcached to listen on ${port}`, () => isListening(port), 3000)
  let stopped = false
  return {
    port,
    address: `127.0.0.1:${port}`,
    pid,
    async stop(signal = 'SIGTERM') {
      if (stopped) return
      stopped = true
      if (isAlive(pid)) process.kill(pid, signal)
      await until(`memcached pid ${pid} to exit`, () => !isAlive(pid), 5000)
      await until(`port ${port} to be free`, async () => !(await isListening(port)), 5000)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
