import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from '@jest/globals'
import { createKeyEncoder } from '../src/keys'

/*
 * Keys must be identical in every process (replicas share a Redis). The same fixture source is evaluated here and
 * in a fresh `node` process (its own realm, its own insertion orders, a different TZ and locale), and the keys
 * must match exactly.
 */
const FIXTURES = String.raw`(() => {
  class Decimal { constructor(t) { this.t = t } }
  const sparse = [1, , 3]
  const huge = [1]
  huge[4000000000] = 'x'
  huge.length = 2 ** 32 - 1
  const payloadNaN = new Float64Array(new BigUint64Array([0xfff8000000000000n, 0x7ff8000000000001n]).buffer)
  const shuffled = {}
  for (const k of ['zeta', 'alpha', 'Mid', '10', '2', 'é', '__x']) shuffled[k] = k.length
  const withProto = JSON.parse('{"__proto__": {"x": [1]}, "b": 2}')
  const bare = Object.create(null)
  bare.z = 1
  bare.a = [new Date(0)]
  const lists = [
    [],
    [undefined],
    [42],
    [-0],
    [NaN, Infinity, -Infinity, 1e21, 5e-324, 0.1 + 0.2],
    ['hello'],
    [1, 'hello', { a: 1, b: [1, 2] }],
    [{ b: [1, 2], a: 1 }],
    [12345678901234567890n, -1n, true, false, null],
    ['quote " backslash \\ newline \n tab \t nul \u0000 lone \ud800 emoji 😀 accents éü ß'],
    [sparse, [undefined, undefined]],
    [huge, new Array(100)],
    [shuffled],
    [withProto],
    [bare],
    [new Map([['b', 1], [{ k: 1 }, new Set([3, 1, 2])], [1, 'one']])],
    [new Set(['b', 'a', 1, 0n])],
    [new Date(1700000000000), new Date(NaN), new Date(-1)],
    [Buffer.from('bytes'), new Uint8Array([1, 2, 3]), new Int8Array([-1]), new Uint8ClampedArray([255])],
    [new Float64Array([1.5, -0, NaN]), new Uint16Array([1, 65535]), new BigInt64Array([-5n]), new Float32Array([0.1])],
    [payloadNaN, new Float32Array([NaN])],
    [new Uint8Array([7, 8]).buffer, new DataView(new Uint8Array([9]).buffer)],
    ['x'.repeat(1000)],
    [{ deep: { deeper: { deepest: [[[['x']]]] } } }],
    [new Decimal('1.50'), { price: new Decimal('2') }],
  ]
  const options = [
    { functionName: 'plain' },
    { functionName: 'users:by id%', typed: true, typeEncoders: [[Decimal, (d) => d.t]] },
    { functionName: 'untyped', typeEncoders: [[Decimal, (d) => d.t]] },
    { functionName: 'ignoring', ignoreArgs: [0], typeEncoders: [[Decimal, (d) => d.t]] },
    { functionName: 'custom', key: (...args) => ({ args }), typeEncoders: [[Decimal, (d) => d.t]] },
  ]
  return { lists, options }
})()`

type Fixtures = {
  lists: unknown[][]
  options: Parameters<typeof createKeyEncoder>[0][]
}

/** Every key the fixtures produce, or the KeyError message where a value can't be encoded. */
function computeKeys(create: typeof createKeyEncoder, fixtures: Fixtures): string[] {
  const out: string[] = []
  for (const options of fixtures.options) {
    const encode = create(options)
    for (const args of fixtures.lists) {
      try {
        out.push(encode(args))
      } catch (error) {
        out.push(`error: ${(error as Error).message}`)
      }
    }
  }
  return out
}

const root = resolve(__dirname, '../../..')
const keysModule = join(__dirname, '..', 'src', 'keys.ts')

describe('keys are deterministic across processes', () => {
  it('a fresh node process computes exactly the same keys', async () => {
    const local = computeKeys(createKeyEncoder, new Function(`return ${FIXTURES}`)() as Fixtures)
    // The plain encoder refuses Decimal, every other configuration handles everything.
    expect(local.filter((k) => k.startsWith('error:'))).toHaveLength(1)
    expect(local.some((k) => k.includes(':#'))).toBe(true)

    const script = `
      const { createKeyEncoder } = await import(${JSON.stringify(keysModule)})
      const computeKeys = ${computeKeys.toString()}
      process.stdout.write(JSON.stringify(computeKeys(createKeyEncoder, ${FIXTURES})))
    `
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root, env: { ...process.env, TZ: 'Pacific/Chatham', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8' } },
    )
    const remote = JSON.parse(stdout) as string[]
    expect(remote).toHaveLength(local.length)
    expect(remote).toEqual(local)
  }, 60_000)
})
