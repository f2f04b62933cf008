import { postgresStorage } from '../src/index.ts'

const url = 'postgres://postgres@127.0.0.1:5432/test'
const table = 'h9_prof'
const value = { id: 1, name: 'Ada', bio: 'x'.repeat(620), tags: Array.from({ length: 12 }, (_, i) => `tag-${i}`) }
const s = postgresStorage({ url, table, prefix: 'p1', pruneIntervalMs: 0 })
await s.set('ns', 'k', value)
for (let i = 0; i < 20000; i += 10) await Promise.all(Array.from({ length: 10 }, () => s.get('ns', 'k')))
await s.close()
