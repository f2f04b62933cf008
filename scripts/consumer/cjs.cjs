// The CommonJS consumer: plain require() of the installed tarballs, run by node.
const assert = require('node:assert/strict')
const { cacheValue, ConfigError, createCodec, memoryStorage } = require('@memokit/core')
const { resolveOperationTimeout } = require('@memokit/core/backend')

let calls = 0
const double = cacheValue(
  (n) => {
    calls++
    return n * 2
  },
  { name: 'double', storage: memoryStorage() },
)
assert.equal(double(21), 42)
assert.equal(double(21), 42)
assert.equal(calls, 1, 'the second call is a hit')

const codec = createCodec()
const value = { at: new Date(0), ids: new Map([[1n, 'a']]) }
assert.deepEqual(codec.decode(codec.encode(value)), value)

// The two entry points of @memokit/core share one error class.
assert.throws(() => resolveOperationTimeout('consumer', -1), ConfigError)

// Every package, and every subpath it exports, loads through require().
for (const spec of JSON.parse(process.env.MEMOKIT_ENTRY_POINTS)) {
  assert.ok(Object.keys(require(spec)).length > 0, `${spec} exports something`)
}
console.log('cjs: ok')
