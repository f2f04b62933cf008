import pg from 'pg'
import { postgresStorage } from '../src/index.ts'

const url = 'postgres://postgres@127.0.0.1:5432/test'
const s = postgresStorage({ url, table: 'h9_lat', prefix: 'p1', pruneIntervalMs: 0 })
await s.set('ns', 'k', { a: 1, b: 'x'.repeat(500) })
const pool = new pg.Pool({ connectionString: url })
for (let round = 0; round < 3; round++) {
  let t = performance.now()
  for (let i = 0; i < 500; i++) await s.get('ns', 'k')
  const a = (performance.now() - t) / 500
  t = performance.now()
  for (let i = 0; i < 500; i++)
    await pool.query('SELECT value FROM h9_lat WHERE prefix = $1 AND namespace = $2 AND key = $3', [
      Buffer.from('p1'),
      Buffer.from('ns'),
      Buffer.from('k'),
    ])
  const b = (performance.now() - t) / 500
  console.log('storage.get', a.toFixed(3), 'ms; raw', b.toFixed(3), 'ms')
}
await s.close()
await pool.query('DROP TABLE h9_lat')
await pool.end()
