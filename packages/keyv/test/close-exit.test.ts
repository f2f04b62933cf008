// A script whose cacheClear failed (server gone, retries under way) exits soon after storage.close() and the
// Keyv's disconnect: no retry calls the disconnected Keyv, which @keyv/redis would connect again (its reconnect
// timers kept the sweep's process alive past 200 s). The script runs in a process of its own, on a redis-server
// each test starts on a port of this file's (KEYV_CLOSE_PORT, default 21400) and kills by PID.
import { type ChildProcess, spawn } from 'node:child_process'
import { connect } from 'node:net'
import { resolve } from 'node:path'
import { afterEach, expect, it } from '@jest/globals'

const PORT = Number(process.env.KEYV_CLOSE_PORT ?? 21400)
const ROOT = resolve(__dirname, '../../..')
const FIXTURE = resolve(__dirname, 'fixtures/clear-then-close.ts')
// After the script's last line; a process kept alive runs into this instead.
const EXIT_WITHIN_MS = 5_000

const started: ChildProcess[] = []

const answers = (): Promise<boolean> =>
  new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port: PORT })
    socket.once('connect', () => socket.end('PING\r\n'))
    socket.once('data', (data) => done(data.toString().includes('PONG')))
    socket.once('error', () => done(false))
  })

const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null
const exited = (child: ChildProcess): Promise<unknown> =>
  running(child) ? new Promise((r) => child.once('exit', r)) : Promise.resolve()

async function startServer(): Promise<ChildProcess> {
  if (await answers()) throw new Error(`port ${PORT} is in use: set KEYV_CLOSE_PORT`)
  const server = spawn(
    'redis-server',
    ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  )
  started.push(server)
  for (let i = 0; i < 200 && !(await answers()); i++) await new Promise((r) => setTimeout(r, 10))
  return server
}

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (!running(child)) continue
    child.kill('SIGKILL')
    await exited(child)
  }
}, 10_000)

/** Resolves with the first line of `child`'s stdout that `match` accepts. */
function lineOf(child: ChildProcess, match: (line: string) => boolean): Promise<string> {
  return new Promise((done, fail) => {
    let buffered = ''
    child.stdout?.on('data', (data: Buffer) => {
      buffered += data.toString()
      const line = buffered.split('\n').find(match)
      if (line !== undefined) done(line)
    })
    child.once('exit', (code) => fail(new Error(`the script exited (${code}) before printing the line`)))
  })
}

it.each([
  ['keyv.disconnect()', 'disconnect'],
  ["the adapter's disconnect(true)", 'destroy'],
])(
  'exits within a few seconds after a failed clear, storage.close() and %s',
  async (_, mode) => {
    const server = await startServer()
    const url = `redis://127.0.0.1:${PORT}`
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, url, `close-exit-${process.pid}`, mode], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    started.push(child)
    await lineOf(child, (line) => line === 'ready')
    server.kill('SIGKILL')
    await exited(server)
    const printed = lineOf(child, (line) => line.startsWith('{'))
    child.stdin?.end('go\n')
    const { closed, reports } = JSON.parse(await printed) as { closed: boolean; reports: string[] }
    const closedAt = performance.now()
    let timer: NodeJS.Timeout | undefined
    const exit = await Promise.race([
      exited(child).then(() => Math.round(performance.now() - closedAt)),
      new Promise((r) => {
        timer = setTimeout(r, EXIT_WITHIN_MS, 'still running')
      }),
    ])
    clearTimeout(timer)
    expect(exit).toEqual(expect.any(Number))
    expect(child.exitCode).toBe(0)
    expect(closed).toBe(true)
    // The clear failed, its first retry too, and the close said the rest would not be retried.
    expect(reports.filter((r) => /^keyv clear /.test(r)).length).toBeGreaterThanOrEqual(2)
    expect(reports.filter((r) => /was not retried because the storage was closed/.test(r))).toHaveLength(1)
  },
  30_000,
)
