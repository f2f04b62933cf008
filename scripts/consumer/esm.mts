// The ESM TypeScript consumer. scripts/consumer-test.mjs type-checks it with tsc (strict, module nodenext) against
// the installed tarballs, then runs it with node.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, cacheValue, createCodec, memoryStorage } from '@memokit/core'
import { resolveOperationTimeout } from '@memokit/core/backend'
import { fileStorage } from '@memokit/file'
import { memcachedStorage } from '@memokit/memcached'
import { mongoStorage } from '@memokit/mongodb'
import { redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'

// A sync function over a sync storage stays sync, in the types (`sixteen: number`) as in the values.
let squares = 0
const square = cacheValue(
  (n: number) => {
    squares++
    return n * n
  },
  { name: 'square', storage: memoryStorage() },
)
const sixteen: number = square(4)
assert.equal(sixteen, 16)
assert.equal(square(4), 16)
assert.equal(squares, 1, 'the second call is a hit')

// The codec (superjson inside) round-trips what plain JSON cannot.
const codec = createCodec()
const value = { at: new Date(0), ids: new Map([[1n, 'a']]), tags: new Set(['x']) }
assert.deepEqual(codec.decode(codec.encode(value)), value)

// A file storage stores through the codec: the hit below is decoded, not kept by reference.
const dir = mkdtempSync(join(tmpdir(), 'memokit-consumer-esm-'))
try {
  let loads = 0
  const load = cacheValue(
    async (id: number) => {
      loads++
      return { id, seen: new Map([[1n, new Date(0)]]) }
    },
    { name: 'load', storage: fileStorage({ dir }) },
  )
  const first = await load(1)
  const second = await load(1)
  assert.equal(loads, 1, 'the second call is a hit')
  assert.notEqual(second, first)
  assert.deepEqual(second, first)
} finally {
  rmSync(dir, { recursive: true, force: true })
}

// A backend's ConfigError is the consumer's ConfigError: one copy of @memokit/core serves every package, and its
// two entry points share one error class.
assert.throws(() => fileStorage({ dir: '' }), ConfigError)
assert.throws(() => resolveOperationTimeout('consumer', -1), ConfigError)

// Every package, and every subpath it exports, loads through import().
const entryPoints = process.env.MEMOKIT_ENTRY_POINTS
assert.ok(entryPoints, 'scripts/consumer-test.mjs sets MEMOKIT_ENTRY_POINTS')
for (const spec of JSON.parse(entryPoints) as string[]) {
  assert.ok(Object.keys(await import(spec)).length > 0, `${spec} exports something`)
}

// The network backends create their clients lazily: nothing here connects.
await redisStorage({ url: 'redis://127.0.0.1:1' }).close?.()
for (const factory of [memcachedStorage, mongoStorage, runStorageContract]) assert.equal(typeof factory, 'function')

console.log('esm: ok')
