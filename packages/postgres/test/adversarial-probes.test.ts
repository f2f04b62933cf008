// Adversarial probes of the PostgreSQL storage that found nothing wrong, kept because no other test covers them: a
// hung server behind the user's own pool without connectionTimeoutMillis (checkouts queue in pg-pool and never time
// out by themselves), key prefixes with NUL and multi-byte characters (the bytea LIKE), a prefix written to inject
// SQL, and concurrent upserts and adds of one key from two pools. A server of our own: it gets frozen.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { postgresStorage } from '@memokit/postgres'
import pg from 'pg'
import { type OwnServer, portFromEnv, rand, startPostgres } from './server'

const TIMEOUT_MS = 300
// Timers fire late on a loaded machine: a failure must come within the timeout plus this.
const SLACK_MS = 600
let server: OwnServer
const table = `memokit_advprobe_${rand()}`

beforeAll(async () => {
  server = await startPostgres(portFromEnv('MEMOKIT_PG_ADV_PORT', 21552))
}, 60_000)

afterAll(async () => {
  await server?.stop()
}, 30_000)

async function failsWithin(op: () => Promise<unknown>): Promise<void> {
  const start = Date.now()
  const error = await op().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(StorageError)
  expect(Date.now() - start).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS)
}

describe('a hung server behind a pool of the user with no connectionTimeoutMillis', () => {
  it('fails every call within operationTimeoutMs, more calls than connections, and caching resumes after it', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: 2 })
    pool.on('error', () => undefined)
    const storage = postgresStorage({ pool, table, prefix: `p-${rand()}`, operationTimeoutMs: TIMEOUT_MS })
    await storage.set('ns', 'k', 'before')
    server.freeze()
    try {
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          Array.from({ length: 9 }, (_, i) =>
            failsWithin(() =>
              i % 3 === 0
                ? storage.set('ns', `k${i}`, 'x')
                : i % 3 === 1
                  ? storage.get('ns', 'k')
                  : storage.delete('ns', `k${i}`),
            ),
          ),
        )
        await failsWithin(() => storage.clear('ns', 'k'))
      }
    } finally {
      server.thaw()
    }
    // The checkouts queued meanwhile are served (and given back unused) once the server answers again.
    const end = Date.now() + 15_000
    for (;;) {
      try {
        await storage.set('ns', 'k2', 'after')
        break
      } catch (error) {
        if (Date.now() > end) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    expect((await storage.get('ns', 'k2'))?.value).toBe('after')
    expect((await storage.get('ns', 'k'))?.value).toBe('before')
    expect(pool.waitingCount).toBe(0)
    await storage.close()
    await pool.end()
  }, 60_000)
})

describe('keys and prefixes', () => {
  it('a key prefix with NUL or multi-byte characters clears exactly the keys starting with it', async () => {
    const storage = postgresStorage({ url: server.url, table, prefix: `p-${rand()}` })
    const keys = [
      'a\0b1',
      'a\0b2',
      'a\0c',
      'ab',
      'é%1',
      'é_2',
      'éx',
      'e\u0301x',
      '\u{1F600}1',
      '\u{1F600}',
      '\u{1F601}',
    ]
    for (const key of keys) await storage.set('ns', key, key)
    await storage.clear('ns', 'a\0b')
    await storage.clear('ns', 'é')
    await storage.clear('ns', '\u{1F600}')
    const left: string[] = []
    for (const key of keys) if ((await storage.get('ns', key)) !== undefined) left.push(key)
    expect(left).toEqual(['a\0c', 'ab', 'e\u0301x', '\u{1F601}'])
    await storage.close()
  })

  it('a prefix, namespace and key written to inject SQL are plain data', async () => {
    const evil = `x'); DROP TABLE ${table}; --"`
    const storage = postgresStorage({ url: server.url, table, prefix: evil })
    await storage.set(evil, evil, 'v')
    await storage.clear(evil, `${evil}%`)
    expect((await storage.get(evil, evil))?.value).toBe('v')
    await storage.clear(evil, evil)
    expect(await storage.get(evil, evil)).toBeUndefined()
    await storage.close()
  })

  it('concurrent upserts and adds of one key from two pools: no error, one value, exactly one add wins', async () => {
    const pools = [0, 1].map(() => new pg.Pool({ connectionString: server.url, max: 8 }))
    const prefix = `p-${rand()}`
    const storages = pools.map((pool) => postgresStorage({ pool, table, prefix }))
    const sets = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => storages[i % 2]?.set('ns', 'hot', i)))
    expect(sets.filter((result) => result.status === 'rejected')).toEqual([])
    expect(typeof (await storages[0]?.get('ns', 'hot'))?.value).toBe('number')
    const adds = await Promise.all(Array.from({ length: 40 }, (_, i) => storages[i % 2]?.add('ns', 'new', i)))
    expect(adds.filter(Boolean)).toHaveLength(1)
    for (const storage of storages) await storage.close()
    for (const pool of pools) await pool.end()
  })
})
