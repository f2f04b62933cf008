import { createCodec } from '@memokit/core'
import pg from 'pg'
import { postgresStorage } from '../src/index.ts'

const url = 'postgres://postgres@127.0.0.1:5432/test'
const table = 'h9_cpu'
const value = { id: 1, name: 'Ada', bio: 'x'.repeat(620), tags: Array.from({ length: 12 }, (_, i) => `tag-${i}`) }
const s = postgresStorage({ url, table, prefix: 'p1', pruneIntervalMs: 0 })
await s.set('ns', 'k', value)
const pool = new pg.Pool({ connectionString: url })
const sql = `SELECT value FROM ${table} WHERE prefix = $1 AND namespace = $2 AND key = $3 AND (expires_at IS NULL OR expires_at > $4)`
const codec = createCodec()
const s2 = postgresStorage({ pool, table, prefix: 'p1', pruneIntervalMs: 0 })
const pool3 = new pg.Pool({
  connectionString: url,
  allowExitOnIdle: true,
  keepAlive: true,
  statement_timeout: 1000,
  connectionTimeoutMillis: 900,
})
const P = Buffer.from('p1'),
  N = Buffer.from('ns'),
  K = Buffer.from('k')
const variants: Record<string, () => Promise<unknown>> = {
  raw: () => pool.query({ text: sql, values: [P, N, K, Date.now()] }),
  rawDecode: async () =>
    codec.decodeEntry((await pool.query({ text: sql, values: [P, N, K, Date.now()] })).rows[0].value.toString('utf8')),
  storage: () => s.get('ns', 'k'),
  storageRawPool: () => s2.get('ns', 'k'),
  rawPool3: () => pool3.query({ text: sql, values: [P, N, K, Date.now()] }),
  rawConnect: async () => {
    const c = await pool.connect()
    try {
      return await c.query({ text: sql, values: [P, N, K, Date.now()] })
    } finally {
      c.release()
    }
  },
}
const N_OPS = 2000
for (let round = 0; round < 4; round++) {
  for (const [name, fn] of Object.entries(variants)) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < N_OPS; i += 10) await Promise.all(Array.from({ length: 10 }, fn))
    const c = process.cpuUsage(c0)
    const t = performance.now() - t0
    console.log(
      name.padEnd(10),
      'cpu µs/op',
      ((c.user + c.system) / N_OPS).toFixed(1),
      'wall µs/op',
      ((t * 1000) / N_OPS).toFixed(1),
    )
  }
}
const c0 = process.cpuUsage()
const payload = (await pool.query({ text: sql, values: [P, N, K, Date.now()] })).rows[0].value.toString('utf8')
for (let i = 0; i < 20000; i++) codec.decodeEntry(payload)
const c = process.cpuUsage(c0)
console.log('decodeEntry µs', ((c.user + c.system) / 20000).toFixed(2), payload.length)
await s.close()
await pool.query(`DROP TABLE ${table}`)
await pool.end()
