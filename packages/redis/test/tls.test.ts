import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import { redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import { createClient } from 'redis'
import { envPort, type RedisProcess, startRedisServer } from './servers'

/*
 * Redis over TLS (`rediss://`), as managed Redis services require: a redis-server of our own that only speaks TLS,
 * with a certificate from a throwaway CA made here by openssl.
 */
const exec = promisify(execFile)
const PORT = envPort('REDIS_TLS_PORT', 7300)
const URL = `rediss://127.0.0.1:${PORT}`
const ROOT = resolve(__dirname, '../../..')

let dir: string
let server: RedisProcess
let ca: Buffer
let userClient: ReturnType<typeof createClient>

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'memokit-tls-'))
  const file = (name: string) => join(dir, name)
  const openssl = (...args: string[]) => exec('openssl', args, { cwd: dir, timeout: 30_000 })
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=memokit test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  )
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  )
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  await openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  )
  ca = readFileSync(file('ca.crt'))
  server = await startRedisServer(
    PORT,
    // TLS only: the plain port is switched off, and clients need no certificate of their own.
    [
      '--port',
      '0',
      '--tls-port',
      String(PORT),
      '--tls-cert-file',
      file('server.crt'),
      '--tls-key-file',
      file('server.key'),
      '--tls-ca-cert-file',
      file('ca.crt'),
      '--tls-auth-clients',
      'no',
    ],
    { name: 'TLS', cliArgs: ['--tls', '--cacert', file('ca.crt')] },
  )
  userClient = createClient({ url: URL, socket: { tls: true, ca } })
  userClient.on('error', () => {})
  await userClient.connect()
}, 60_000)

afterAll(async () => {
  await userClient?.close()
  await server?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
}, 60_000)

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'redis over TLS (own client with the CA)',
    leases: true,
    getThen: true,
    create: ({ prefix }) => redisStorage({ client: userClient, prefix }),
  },
)

describe('redis over TLS from a rediss:// URL', () => {
  it('works end to end when the process trusts the certificate (NODE_EXTRA_CA_CERTS)', async () => {
    const prefix = `mk-tls-${process.pid}-${Date.now()}`
    const { stdout } = await exec(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'packages/redis/test/fixtures/tls-client.ts'), URL, prefix],
      { cwd: ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt') }, timeout: 60_000 },
    )
    const result = JSON.parse(stdout.trim().split('\n').pop() as string)
    // The second call was answered by Redis over TLS: the function ran once and nothing failed.
    expect(result).toEqual({ first: 49, second: 49, runs: 1, errors: [] })
    const keys = await userClient.keys(`${prefix}:*`)
    expect(keys).toHaveLength(1)
    await userClient.unlink(keys)
  }, 90_000)

  it('fails open, reported, when the certificate is not trusted: the service keeps answering', async () => {
    const storage = redisStorage({ url: URL, prefix: `mk-tls-untrusted-${process.pid}`, operationTimeoutMs: 500 })
    const reports: ErrorReport[] = []
    let runs = 0
    const double = cacheValue(
      async (n: number) => {
        runs++
        return n * 2
      },
      { storage, name: 'tls.double', onError: (report) => reports.push(report), circuitBreaker: false },
    )
    expect(await double(21)).toBe(42)
    expect(await double(21)).toBe(42)
    expect(runs).toBe(2)
    expect(reports.length).toBeGreaterThan(0)
    expect(reports[0]?.error).toBeInstanceOf(StorageError)
    // The report says why, so the misconfiguration can be found.
    expect(String(reports[0]?.error)).toMatch(/certificate/)
    await storage.close?.()
  }, 30_000)
})
