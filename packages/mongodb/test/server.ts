import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import path from 'node:path'

/** A MongoDB wire-protocol stand-in (CongoDB) running in a child process that this test file started. */
export interface StandIn {
  readonly url: string
  readonly port: number
  /** Freezes the process (SIGSTOP): connections stay open but nothing answers, like a hung server. */
  freeze(): void
  /** Resumes a frozen process (SIGCONT). */
  thaw(): void
  /** Stops the process (by its PID) and waits for it to exit. */
  stop(): Promise<void>
}

/**
 * operationTimeoutMs for tests about answers, not timing, whose storages connect cold (their own client, index
 * creation, a pool connection per concurrent call) to a stand-in just started: such a first batch once took over
 * the default 1 s on a loaded CI machine. timeouts.test.ts covers the bound itself.
 */
export const COLD_TIMEOUT_MS = 15_000

/** The real server's URL when `MONGODB_URL` is set; the tests then start no stand-in. */
export const REAL_MONGODB_URL = process.env.MONGODB_URL || undefined

/** A fresh name, so concurrent runs against one real server never share a collection. */
export const uniqueName = (label: string): string => `${label}_${randomBytes(5).toString('hex')}`

export function portFromEnv(variable: string, fallback: number): number {
  const raw = process.env[variable]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${variable} must be a port, got ${raw}`)
  return port
}

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

/** A port on which nothing listens (bound and released by the OS just now). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

/**
 * The URL of a stand-in on `port`. Polling monitoring: the stand-in breaks the driver's streaming heartbeat
 * ("Server ended moreToCome unexpectedly" after 10 s, which clears the pool mid-test); real servers don't need it.
 */
export const standInUrl = (port: number): string =>
  `mongodb://127.0.0.1:${port}/?directConnection=true&serverMonitoringMode=poll`

/** Starts the stand-in on `port` (which must be free) and resolves once it accepts connections. */
export async function startStandIn(port: number): Promise<StandIn> {
  if (await portInUse(port)) {
    throw new Error(
      `port ${port} is taken; set the test's port variable (see packages/mongodb/README.md) to a free one`,
    )
  }
  const script = path.join(__dirname, 'congo-server.mjs')
  const child: ChildProcess = spawn(process.execPath, [script, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk)
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`stand-in on port ${port} not ready after 10 s: ${stderr}`)),
      10_000,
    )
    child.stdout?.on('data', (chunk) => {
      if (String(chunk).includes('ready')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`stand-in exited with ${code}: ${stderr}`))
    })
  })
  const pid = child.pid as number
  return {
    url: standInUrl(port),
    port,
    freeze: () => process.kill(pid, 'SIGSTOP'),
    thaw: () => process.kill(pid, 'SIGCONT'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      process.kill(pid, 'SIGCONT')
      process.kill(pid, 'SIGTERM')
      // A stand-in that doesn't finish its shutdown within 3 s is killed outright: tests must leave nothing behind.
      const kill = setTimeout(() => process.kill(pid, 'SIGKILL'), 3000)
      await exited
      clearTimeout(kill)
    },
  }
}
