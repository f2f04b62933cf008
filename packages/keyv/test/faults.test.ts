// Faults on a real redis-server this file starts on its own port (KEYV_REDIS_FAULT_PORT, default 7410): killed,
// hung, restarted. @keyv/redis and Keyv report most failures only as 'error' events and answer as for a missing
// key: the storage must still fail with a StorageError within operationTimeoutMs, and core must still answer.
import { type ChildProcess, spawn } from 'node:child_process'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import KeyvRedis, { createKeyvNonBlocking } from '@keyv/redis'
import { type AsyncStorage, cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import Keyv from 'keyv'
import { keyvStorage } from '../src'

const PORT = Number(process.env.KEYV_REDIS_FAULT_PORT ?? 7410)
const URL = `redis://127.0.0.1:${PORT}`
const TIMEOUT = 300

let server: ChildProcess | undefined
const stores: KeyvRedis<unknown>[] = []

const answers = (): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: PORT })
    socket.once('connect', () => socket.end('PING\r\n'))
    socket.once('data', (data) => resolve(data.toString().includes('PONG')))
    socket.once('error', () => resolve(false))
  })

async function start(): Promise<void> {
  server = spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  for (let i = 0; i < 200 && !(await answers()); i++) await new Promise((r) => setTimeout(r, 10))
}

async function kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const child = server
  if (child === undefined || child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  await exited
}

function storageOn(keyv: Keyv): AsyncStorage {
  stores.push(keyv.store as KeyvRedis<unknown>)
  return keyvStorage(keyv, { prefix: 'faults', operationTimeoutMs: TIMEOUT })
}

beforeAll(async () => {
  if (await answers()) throw new Error(`port ${PORT} is in use: set KEYV_REDIS_FAULT_PORT`)
  await start()
}, 10_000)

afterAll(async () => {
  for (const store of stores) {
    // disconnect() skips a client that isn't open; destroy() throws for one already closed.
    try {
      store.client.destroy()
    } catch {
      // Already closed.
    }
  }
  server?.kill('SIGCONT')
  await kill('SIGTERM')
}, 10_000)

/** Runs `op`, expecting a StorageError naming the server, within the timeout plus slack. */
async function failsFast(op: () => Promise<unknown>, pattern: RegExp): Promise<StorageError> {
  const started = Date.now()
  const error = await op().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(StorageError)
  expect((error as StorageError).message).toMatch(/^keyv \w+ on redis:\/\/127\.0\.0\.1:\d+\/0 /)
  expect((error as StorageError).message).toMatch(pattern)
  expect(Date.now() - started).toBeLessThan(TIMEOUT + 700)
  return error as StorageError
}

describe('a failure Keyv only reports as an event', () => {
  it('fails the operation although Keyv answered "missing" or "done"', async () => {
    // Non-blocking: no offline queue, no reconnect, throwOnErrors off. Once the server is gone every command fails
    // at once, and Keyv answers as if nothing were stored.
    const keyv = createKeyvNonBlocking(URL, { namespace: 'nb' })
    const storage = storageOn(keyv)
    // Connected before the first bounded operation: under a loaded CI run, connecting alone can take 300 ms.
    await keyv.set('faults:warm', 1)
    await storage.set('ns', 'k', 1)
    await kill()
    try {
      expect(await keyv.get('faults:nns:kk')).toBeUndefined()
      expect(await keyv.set('faults:nns:kk', 'x')).toBe(true)
      const error = await failsFast(() => storage.get('ns', 'k'), /failed: .*error event/)
      expect(error.cause).toBeInstanceOf(Error)
      await failsFast(() => storage.set('ns', 'k', 2), /failed/)
      await failsFast(() => storage.delete('ns', 'k'), /failed/)
      await failsFast(() => storage.clear('ns'), /failed/)
    } finally {
      await start()
    }
  })
})

describe('a killed, hung and restarted server (new Keyv({ store: new KeyvRedis(url) }), defaults)', () => {
  const keyv = new Keyv({ store: new KeyvRedis(URL), namespace: 'kill' })
  let storage: AsyncStorage

  it('works while the server runs', async () => {
    storage = storageOn(keyv)
    // Connected before the first bounded operation: under a loaded CI run, connecting alone took over 300 ms.
    await keyv.set('faults:warm', 1)
    await storage.set('ns', 'k', 'v')
    expect((await storage.get('ns', 'k'))?.value).toBe('v')
  })

  it('fails every operation within operationTimeoutMs once it is killed, and cacheValue still answers', async () => {
    await kill()
    await failsFast(() => storage.get('ns', 'k'), /timed out after 300 ms|failed/)
    await failsFast(() => storage.set('ns', 'k', 'w'), /timed out after 300 ms|failed/)
    await failsFast(() => storage.delete('ns', 'k'), /timed out after 300 ms|failed/)
    await failsFast(() => storage.clear('ns'), /timed out after 300 ms|failed/)
    const reports: ErrorReport[] = []
    const load = cacheValue(async (id: number) => ({ id }), {
      storage,
      namespace: 'ns',
      name: 'load',
      onError: (report) => void reports.push(report),
    })
    const started = Date.now()
    expect(await load(7)).toEqual({ id: 7 })
    expect(Date.now() - started).toBeLessThan(TIMEOUT + 700)
    expect(reports.length).toBeGreaterThan(0)
    expect(reports[0]?.error).toBeInstanceOf(StorageError)
  })

  it('works again once the server is back on the same port', async () => {
    await start()
    let value: unknown
    for (let i = 0; i < 50 && value !== 'back'; i++) {
      await storage.set('ns', 'k', 'back').catch(() => undefined)
      value = (await storage.get('ns', 'k').catch(() => undefined))?.value
      if (value !== 'back') await new Promise((r) => setTimeout(r, 100))
    }
    expect(value).toBe('back')
  }, 15_000)

  it('times out on a hung server (SIGSTOP)', async () => {
    server?.kill('SIGSTOP')
    try {
      await failsFast(() => storage.get('ns', 'k'), /timed out after 300 ms \(operationTimeoutMs\)/)
    } finally {
      server?.kill('SIGCONT')
    }
  })
})
