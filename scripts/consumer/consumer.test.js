// Runs under Jest with its DEFAULT configuration (no config file, default transforms), which loads CommonJS through
// its own module system: an ESM-only dependency required by a CommonJS build fails here, not in plain node.
const { cacheValue, createCodec, memoryStorage } = require('@memokit/core')
const { redisStorage } = require('@memokit/redis')

test('a cacheValue hit', () => {
  let calls = 0
  const double = cacheValue(
    (n) => {
      calls++
      return n * 2
    },
    { name: 'double', storage: memoryStorage() },
  )
  expect(double(21)).toBe(42)
  expect(double(21)).toBe(42)
  expect(calls).toBe(1)
})

test('the codec round-trips a Map, a Date and a BigInt', () => {
  const codec = createCodec()
  const value = { at: new Date(0), ids: new Map([[1n, 'a']]) }
  expect(codec.decode(codec.encode(value))).toEqual(value)
})

test('a Redis storage is created without connecting', async () => {
  const storage = redisStorage({ url: 'redis://127.0.0.1:1' })
  expect(storage.async).toBe(true)
  await storage.close?.()
})

test('every package and subpath export loads', () => {
  for (const spec of JSON.parse(process.env.MEMOKIT_ENTRY_POINTS)) {
    expect(Object.keys(require(spec)).length).toBeGreaterThan(0)
  }
})
