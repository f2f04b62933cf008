import pg from 'pg'

const url = 'postgres://postgres@127.0.0.1:5432/test'
const a = new pg.Pool({ connectionString: url, max: 1 })
const b = new pg.Pool({ connectionString: url, max: 1, options: '-c synchronous_commit=off' })
await a.query('CREATE TABLE IF NOT EXISTS h9_commit (k int primary key, v text)')
for (let round = 0; round < 3; round++) {
  for (const [name, pool] of [
    ['sync', a],
    ['async', b],
  ] as const) {
    const t = performance.now()
    for (let i = 0; i < 100; i++)
      await pool.query('INSERT INTO h9_commit VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v', [i, 'x'])
    console.log(
      name,
      ((performance.now() - t) / 100).toFixed(2),
      'ms/insert',
      (await b.query('SHOW synchronous_commit')).rows[0],
    )
  }
}
await a.query('DROP TABLE h9_commit')
await a.end()
await b.end()
