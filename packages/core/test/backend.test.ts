import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from '@jest/globals'
import { ConfigError, StorageError } from '@memokit/core'
import {
  closestName,
  DEFAULT_OPERATION_TIMEOUT_MS,
  hasLoneSurrogate,
  objectLabel,
  redactUrl,
  rejectUnknownOptions,
  resolveEntryTtl,
  resolveOperationTimeout,
  resolvePrefix,
  storageFailure,
} from '@memokit/core/backend'

const exec = promisify(execFile)

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('rejectUnknownOptions', () => {
  const MEMORY = ['maxEntries', 'codec']
  const REDIS = ['url', 'client', 'prefix', 'codec', 'operationTimeoutMs']

  it('names the unknown option, lists the valid ones and suggests the closest', () => {
    const error = thrown(() => rejectUnknownOptions('memoryStorage', { max: 500 }, MEMORY, 'memoryStorage({})'))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ code: 'E_CONFIG', option: 'max' })
    expect((error as Error).message).toBe(
      "memoryStorage: unknown option 'max' (did you mean 'maxEntries'?); valid options are maxEntries, codec",
    )
  })

  it('suggests spelling and case slips, and nothing for an unrelated name', () => {
    expect(closestName('prefx', REDIS)).toBe('prefix')
    expect(closestName('URL', REDIS)).toBe('url')
    expect(closestName('timeout', REDIS)).toBe('operationTimeoutMs')
    expect(closestName('maxentries', MEMORY)).toBe('maxEntries')
    expect(closestName('ttl', REDIS)).toBeUndefined()
    const error = thrown(() => rejectUnknownOptions('redisStorage', { url: 'redis://x', ttl: 5 }, REDIS, 'x'))
    expect(error).toMatchObject({ option: 'ttl' })
    expect((error as Error).message).not.toContain('did you mean')
  })

  it('accepts known options, including ones set to undefined', () => {
    expect(() =>
      rejectUnknownOptions('redisStorage', { url: 'redis://x', prefix: undefined }, REDIS, 'x'),
    ).not.toThrow()
  })

  it('rejects a string in place of the options, pointing to { url } without echoing a password', () => {
    const error = thrown(() =>
      rejectUnknownOptions('redisStorage', 'redis://app:s3cret@10.0.0.5:6380/2', REDIS, "redisStorage({ url: '…' })"),
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ option: 'options' })
    const message = (error as Error).message
    expect(message).toContain("pass { url }: redisStorage({ url: 'redis://10.0.0.5:6380/2' })")
    expect(message).not.toContain('s3cret')
  })

  it.each([
    [null, 'null'],
    [[{ url: 'x' }], 'an array'],
    [undefined, 'undefined'],
    [42, 'number 42'],
  ])('rejects %p as options', (options, described) => {
    const error = thrown(() => rejectUnknownOptions('fileStorage', options, ['dir'], "fileStorage({ dir: '.cache' })"))
    expect(error).toMatchObject({ option: 'options' })
    expect((error as Error).message).toBe(
      `fileStorage takes an options object, got ${described}; e.g. fileStorage({ dir: '.cache' })`,
    )
  })
})

describe('option checks', () => {
  it('operationTimeoutMs: default 1000, positive finite numbers only', () => {
    expect(DEFAULT_OPERATION_TIMEOUT_MS).toBe(1000)
    expect(resolveOperationTimeout('x', undefined)).toBe(1000)
    expect(resolveOperationTimeout('x', 0.5)).toBe(0.5)
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100', null]) {
      const error = thrown(() => resolveOperationTimeout('redisStorage', bad))
      expect(error).toMatchObject({ code: 'E_CONFIG', option: 'operationTimeoutMs' })
      expect((error as Error).message).toMatch(/^redisStorage: operationTimeoutMs must be a positive, finite number/)
    }
  })

  it('entry ttl: undefined or a positive finite number of ms', () => {
    expect(resolveEntryTtl('redis', undefined)).toBeUndefined()
    expect(resolveEntryTtl('redis', 1.5)).toBe(1.5)
    for (const bad of [0, -5, Number.NaN, '5 minutes']) {
      expect(thrown(() => resolveEntryTtl('redis', bad))).toMatchObject({ code: 'E_CONFIG', option: 'ttl' })
    }
  })

  it('prefix: a string without lone surrogates', () => {
    expect(resolvePrefix('x', 'shop')).toBe('shop')
    expect(resolvePrefix('x', '')).toBe('')
    expect(resolvePrefix('x', 'emoji 😀')).toBe('emoji 😀')
    for (const bad of ['a\uD800', '\uDC00b', 5, null]) {
      expect(thrown(() => resolvePrefix('redisStorage', bad))).toMatchObject({ code: 'E_CONFIG', option: 'prefix' })
    }
  })

  it('hasLoneSurrogate tells lone halves from pairs', () => {
    expect(hasLoneSurrogate('plain')).toBe(false)
    expect(hasLoneSurrogate('😀')).toBe(false)
    expect(hasLoneSurrogate('\uD83D')).toBe(true)
    expect(hasLoneSurrogate('x\uDE00')).toBe(true)
    expect(hasLoneSurrogate('\uDE00\uD83D')).toBe(true)
  })
})

describe('redactUrl and storageFailure', () => {
  it('drops user, password, query and fragment', () => {
    expect(redactUrl('redis://app:s3cret@10.0.0.5:6380/2?password=x#y')).toBe('redis://10.0.0.5:6380/2')
    expect(redactUrl('rediss://:pw@cache.internal')).toBe('rediss://cache.internal')
    expect(redactUrl('mongodb+srv://u:p@cluster0.example.net/db?authSource=admin')).toBe(
      'mongodb+srv://cluster0.example.net/db',
    )
    expect(redactUrl('not a url with secret')).toBe('…')
  })

  it('names the server and keeps the driver error as cause', () => {
    const cause = new Error('The client is offline')
    const error = storageFailure('redis', 'get', '127.0.0.1:6379', cause, 'reconnecting')
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ storage: 'redis', op: 'get', cause })
    expect(error.message).toBe('redis get on 127.0.0.1:6379 failed: The client is offline (reconnecting)')
    expect(storageFailure('redis', 'set', 'elsewhere', error)).toBe(error)
  })
})

describe('objectLabel', () => {
  it('is stable for one object and different for every other', () => {
    const a = {}
    const b = {}
    expect(objectLabel('redis-client', a)).toMatch(/^redis-client#\d+$/)
    expect(objectLabel('redis-client', a)).toBe(objectLabel('redis-client', a))
    expect(objectLabel('redis-client', b)).not.toBe(objectLabel('redis-client', a))
  })
})

describe('defaultPrefix', () => {
  const root = mkdtempSync(join(tmpdir(), 'memokit-default-prefix-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  const tsx = pathToFileURL(require.resolve('tsx')).href
  const backend = pathToFileURL(resolve(__dirname, '../src/backend.ts')).href
  // Prints the prefix twice, renaming the package in between: the second must equal the first (looked up once).
  const probe = `
import { defaultPrefix } from ${JSON.stringify(backend)}
import { readFileSync, writeFileSync } from 'node:fs'
let first
try { first = defaultPrefix('redisStorage') } catch (error) { console.log(JSON.stringify({ code: error.code, option: error.option, message: error.message })); process.exit(0) }
const file = process.env.RENAME
if (file) writeFileSync(file, JSON.stringify({ name: 'renamed' }))
console.log(JSON.stringify({ first, second: defaultPrefix('mongoStorage') }))
`

  function write(path: string, text: string): string {
    mkdirSync(resolve(path, '..'), { recursive: true })
    writeFileSync(path, text)
    return path
  }

  async function run(script: string | undefined, cwd: string, env: Record<string, string> = {}): Promise<unknown> {
    const args =
      script === undefined ? ['--import', tsx, '--input-type=module', '-e', probe] : ['--import', tsx, script]
    const { stdout } = await exec(process.execPath, args, { cwd, env: { ...process.env, ...env }, timeout: 20_000 })
    return JSON.parse(stdout.trim())
  }

  it("is memokit/<name> of the entry script's nearest named package.json, looked up once", async () => {
    const app = join(root, 'shop')
    const manifest = write(join(app, 'package.json'), JSON.stringify({ name: '@acme/shop' }))
    // A nameless package.json (only "type") on the way up belongs to the enclosing package.
    write(join(app, 'dist', 'package.json'), JSON.stringify({ type: 'module' }))
    const script = write(join(app, 'dist', 'server', 'main.mjs'), probe)
    // The working directory is another package: the entry script's package wins.
    const elsewhere = join(root, 'elsewhere')
    write(join(elsewhere, 'package.json'), JSON.stringify({ name: 'elsewhere' }))
    expect(await run(script, elsewhere, { RENAME: manifest })).toEqual({
      first: 'memokit/@acme/shop',
      second: 'memokit/@acme/shop',
    })
  })

  it('uses the working directory when the entry script lies in node_modules (jest, pm2) or there is none', async () => {
    const runner = write(join(root, 'tools', 'node_modules', 'runner', 'bin.mjs'), probe)
    write(join(root, 'tools', 'node_modules', 'runner', 'package.json'), JSON.stringify({ name: 'runner' }))
    const api = join(root, 'api')
    write(join(api, 'package.json'), JSON.stringify({ name: 'billing-api' }))
    mkdirSync(join(api, 'src'), { recursive: true })
    expect(await run(runner, join(api, 'src'))).toEqual({ first: 'memokit/billing-api', second: 'memokit/billing-api' })
    expect(await run(undefined, join(api, 'src'))).toEqual({
      first: 'memokit/billing-api',
      second: 'memokit/billing-api',
    })
  })

  it('throws a ConfigError asking for a prefix when no package.json has a name', async () => {
    const lonely = join(root, 'lonely')
    write(join(lonely, 'package.json'), JSON.stringify({ private: true }))
    const script = write(join(lonely, 'main.mjs'), probe)
    const result = (await run(script, lonely)) as { code: string; option: string; message: string }
    expect(result).toMatchObject({ code: 'E_CONFIG', option: 'prefix' })
    expect(result.message).toContain(`no package.json with a "name" was found in ${lonely} or above`)
    expect(result.message).toContain('pass prefix')
  })
})
