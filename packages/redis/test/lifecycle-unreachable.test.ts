// Scripts with tiers over redisStorage({ url }) and redisBus({ url }) that never call close(), while Redis is
// unreachable: killed mid-script, never there, or back after a restart. Each must exit once its work is done; the
// bus's connections used to reconnect on node-redis' ref'd timers and held the process until Redis came back.
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { uid } from './counted'
import { envPort, type RedisProcess, redisCli, startRedisServer } from './servers'

const BASE = envPort('REDIS_UNREACHABLE_PORT', 21450)
// Nothing listens here: connections are refused.
const DOWN_PORT = BASE + 1
const ROOT = resolve(__dirname, '../../..')
const FIXTURE = resolve(__dirname, 'fixtures/tier-redis-down.ts')
// A script still running this long after it started is killed: it was held by something it never released.
const KILL_AFTER_MS = 40_000
// From the script's last line to its exit. What remains is the storage's own client, which stops reconnecting about a
// second after its last operation, and the process's teardown; being held by the bus meant never.
const EXIT_WITHIN_MS = 6000

const servers: RedisProcess[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()))
}, 30_000)

async function server(port: number): Promise<RedisProcess> {
  const started = await startRedisServer(port)
  servers.push(started)
  return started
}

interface Phase {
  readonly phase: string
  readonly [field: string]: unknown
}

interface Run {
  readonly phases: Phase[]
  /** The exit code, or null when killed after KILL_AFTER_MS. */
  readonly code: number | null
  /** ms from the script's `done` line to its exit (Infinity without one). */
  readonly doneToExitMs: number
  readonly stderr: string
}

/** Runs the fixture in `mode`; `onPhase` acts on each printed line (kills or restarts a server) in order. */
function runScript(url: string, mode: string, onPhase: (phase: Phase) => Promise<void> = async () => {}): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, url, uid('unreach'), mode], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS)
    const phases: Phase[] = []
    let doneAt = Number.POSITIVE_INFINITY
    let pending = ''
    let stderr = ''
    let actions = Promise.resolve()
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const phase = JSON.parse(line) as Phase
        phases.push(phase)
        if (phase.phase === 'done') doneAt = performance.now()
        actions = actions.then(() => onPhase(phase))
      }
    })
    child.on('exit', (code) => {
      const exitedAt = performance.now()
      clearTimeout(killer)
      void actions.then(() => done({ phases, code, doneToExitMs: exitedAt - doneAt, stderr }))
    })
  })
}

const last = (run: Run): Phase | undefined => run.phases.at(-1)

describe('a script with a tier over redisBus({ url }) that never calls close()', () => {
  it('exits within a few seconds of its last call when Redis was killed under it', async () => {
    const own = await server(BASE)
    const run = await runScript(own.url, 'killed', async ({ phase }) => {
      if (phase !== 'cached') return
      own.signal('SIGKILL')
      await own.exited()
    })
    expect(run.phases.map((p) => p.phase)).toEqual(['cached', 'done'])
    // Cached while Redis was there; after it went, the tier bypassed its L1 and the L2 failed: computed again.
    expect(last(run)).toMatchObject({ after: 49, calls: 2, states: ['up', 'down'] })
    expect(run.code).toBe(0)
    expect(run.doneToExitMs).toBeLessThan(EXIT_WITHIN_MS)
  }, 60_000)

  it('exits when Redis was never reachable', async () => {
    expect((await redisCli(DOWN_PORT, 'ping').catch(() => 'refused')).includes('PONG')).toBe(false)
    const run = await runScript(`redis://127.0.0.1:${DOWN_PORT}`, 'never')
    expect(run.phases).toEqual([{ phase: 'done', first: 49, calls: 2 }])
    expect(run.code).toBe(0)
    expect(run.doneToExitMs).toBeLessThan(EXIT_WITHIN_MS)
  }, 60_000)

  it('reconnects and resubscribes when Redis restarts on the same port while the process is held, and exits after', async () => {
    const own = await server(BASE + 2)
    let restartedAt = 0
    let reconnectedAt = 0
    const run = await runScript(own.url, 'restart', async ({ phase }) => {
      if (phase === 'up' || phase === 'reconnected') {
        if (phase === 'reconnected') reconnectedAt = performance.now()
        own.signal('SIGKILL')
        await own.exited()
      } else if (phase === 'down') {
        await own.restart()
        restartedAt = performance.now()
      }
    })
    expect(run.phases.map((p) => p.phase)).toEqual(['up', 'down', 'reconnected', 'done'])
    // Both tiers went down with Redis and came up again on their own (the bus's probes reconnected them), and a
    // write on A reached B through the resubscribed channel.
    expect(run.phases[2]).toMatchObject({ a: ['up', 'down', 'up'], b: ['up', 'down', 'up'], received: ['keys'] })
    // The bus probes at most a second apart while down; the rest is the resubscription and the write.
    expect(reconnectedAt - restartedAt).toBeLessThan(5000)
    // Killed again after reconnecting: the connections the bus connected again don't hold the process either.
    expect(run.code).toBe(0)
    expect(run.doneToExitMs).toBeLessThan(EXIT_WITHIN_MS)
  }, 60_000)
})
