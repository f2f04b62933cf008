// Starts replicas of service.ts as child processes on free loopback ports, and stops them by PID.
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
// The replicas run service.ts compiled to one file, as a deployed service would run its build: six start-ups under
// tsx cost about 10 s of CPU, most of the short form's time on 2 cores; the bundle starts in a fraction of that.
// Its own dependencies stay external (resolved from this example's node_modules); memokit's sources are bundled.
const bundleFile = here('./.tmp/service.mjs')
let bundled: Promise<unknown> | undefined
const bundleService = () =>
  (bundled ??= build({
    entryPoints: [here('./service.ts')],
    outfile: bundleFile,
    tsconfig: here('./tsconfig.json'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['fastify', 'pg', 'redis'],
    logLevel: 'warning',
  }))
const READY_WITHIN_MS = 60_000
const STOP_WITHIN_MS = 5_000

export interface Stats {
  requests: number
  originQueries: number
}

export interface Replicas {
  readonly urls: string[]
  /** The replicas' counters (GET /stats) summed: requests served, and queries sent to PostgreSQL. */
  stats(): Promise<Stats>
  stop(): Promise<void>
}

// Ports the OS hands out for probes held open together, so the replicas never get the same one.
async function freePorts(count: number): Promise<number[]> {
  const probes = Array.from({ length: count }, () => createServer())
  const ports = await Promise.all(
    probes.map(
      (probe) =>
        new Promise<number>((resolve, reject) => {
          probe.once('error', reject)
          probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port))
        }),
    ),
  )
  await Promise.all(probes.map((probe) => new Promise((resolve) => probe.close(resolve))))
  return ports
}

/** A request to a replica, answered with JSON within 2 s (else it throws). */
export async function fetchJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) })
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${response.status}`)
  return (await response.json()) as T
}
const getStats = (url: string) => fetchJson<Stats>(url)

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()))
}

async function waitReady(child: ChildProcess, url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`replica ${url} exited with code ${child.exitCode}:\n${output().trim()}`)
    }
    try {
      await getStats(`${url}/stats`)
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error(`replica ${url} did not answer within ${READY_WITHIN_MS} ms:\n${output().trim()}`)
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  process.kill(child.pid, 'SIGTERM') // the service closes Fastify, the cache, Redis and the pool
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), STOP_WITHIN_MS)
  await exited(child)
  clearTimeout(timer)
}

/** Starts `count` replicas with `env` and waits until each answers GET /stats. */
export async function startReplicas(count: number, env: Record<string, string>): Promise<Replicas> {
  const children: ChildProcess[] = []
  const urls: string[] = []
  const stop = async () => {
    await Promise.all(children.map(stopChild))
  }
  try {
    // Started together: each pays tsx's start-up, so in parallel they are ready in about the time of one.
    await bundleService()
    const ports = await freePorts(count)
    await Promise.all(
      ports.map(async (port) => {
        const url = `http://127.0.0.1:${port}`
        const child = spawn(process.execPath, [bundleFile], {
          env: { ...process.env, ...env, PORT: String(port) },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let output = ''
        const collect = (chunk: Buffer) => {
          output += chunk
          if (process.env.LOAD_VERBOSE) process.stderr.write(`[${port}] ${chunk}`)
        }
        child.stdout?.on('data', collect)
        child.stderr?.on('data', collect)
        children.push(child)
        urls.push(url)
        await waitReady(child, url, () => output)
      }),
    )
  } catch (error) {
    await stop()
    throw error
  }
  return {
    urls,
    stop,
    stats: async () => {
      const all = await Promise.all(urls.map((url) => getStats(`${url}/stats`)))
      return all.reduce((sum, s) => ({
        requests: sum.requests + s.requests,
        originQueries: sum.originQueries + s.originQueries,
      }))
    },
  }
}
