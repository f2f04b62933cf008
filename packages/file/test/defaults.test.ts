// Issue 8 for the file storage: options are checked (unknown ones too) before the disk is touched, two
// applications given one directory don't share entries by default, the scope names the place, and entries written
// before meta existed still read.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from '@jest/globals'
import { ConfigError } from '@memokit/core'
import { defaultPrefix } from '@memokit/core/backend'
import { type FileStorageOptions, fileStorage, fileStorageSync } from '@memokit/file'
import { encodeDirName, formatFile, keyFileName } from '../src/layout'

const root = fs.mkdtempSync(join(tmpdir(), 'memokit-file-defaults-'))
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true })
})
const freshDir = () => join(root, randomBytes(6).toString('hex'))
const repoRoot = join(__dirname, '..', '..', '..')
const childScript = join(__dirname, 'fixtures', 'child.ts')

function captureError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('unknown options', () => {
  it.each<[string, unknown, RegExp]>([
    ['prefx', { dir: 'x', prefx: 'p' }, /unknown option 'prefx' \(did you mean 'prefix'\?\).*dir, prefix, codec/],
    ['ttl', { dir: 'x', ttl: 1000 }, /unknown option 'ttl'.*valid options are dir, prefix, codec, tempFileMaxAgeMs/],
    ['directory', { directory: 'x' }, /unknown option 'directory'/],
    ['options', '/var/cache/app', /takes an options object, got a string; e\.g\. file/],
    ['options', null, /takes an options object, got null/],
  ])('rejects %s with a ConfigError and creates nothing', (option, options, message) => {
    const dir = freshDir()
    for (const factory of [fileStorage, fileStorageSync]) {
      const patched = typeof options === 'object' && options !== null ? { ...options, dir } : options
      const error = captureError(() => factory(patched as FileStorageOptions))
      expect(error).toBeInstanceOf(ConfigError)
      expect(error).toMatchObject({ option, message: expect.stringMatching(message) })
    }
    expect(fs.existsSync(dir)).toBe(false)
  })
})

describe('default prefix', () => {
  it("is memokit/<the application's package name>, shown in scope, and the entries live under it", async () => {
    const dir = freshDir()
    const prefix = defaultPrefix('fileStorage')
    expect(prefix).toMatch(/^memokit\/./)
    const storage = fileStorage({ dir })
    expect(storage.scope).toBe(`${pathToFileURL(dir).href}?prefix=${encodeURIComponent(prefix)}`)
    await storage.set('ns', 'k', 1)
    expect(fs.existsSync(join(dir, encodeDirName(prefix), encodeDirName('ns'), keyFileName('k')))).toBe(true)
    // Replicas of one application (the same name) share; an explicit prefix is another cache.
    expect(fileStorageSync({ dir }).get('ns', 'k')?.value).toBe(1)
    expect(fileStorageSync({ dir, prefix: 'memokit' }).get('ns', 'k')).toBeUndefined()
  })

  /** Runs the child fixture as the entry script of an application named `name` (its own package.json). */
  function runAs(name: string, command: object): Promise<unknown> {
    const app = join(root, `app-${randomBytes(4).toString('hex')}`)
    fs.mkdirSync(app)
    fs.writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true }))
    const main = join(app, 'main.ts')
    fs.writeFileSync(main, `import ${JSON.stringify(childScript)}\n`)
    return new Promise((resolve, reject) => {
      // cwd = repo root, so tsx maps @memokit/* to the sources; the app is found from the entry script (argv[1]).
      const proc = spawn(process.execPath, ['--import', 'tsx', main, JSON.stringify(command)], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      proc.stdout.on('data', (c: Buffer) => {
        out += c.toString()
      })
      proc.stderr.on('data', (c: Buffer) => {
        err += c.toString()
      })
      proc.on('error', reject)
      proc.on('close', (code) => {
        if (code !== 0) reject(new Error(`${name} exited with ${code}: ${err}`))
        else resolve(JSON.parse(out.trim().split('\n').pop() as string))
      })
    })
  }

  it('keeps two applications given one directory apart, while two processes of one application share', async () => {
    const dir = freshDir()
    const ns = 'n'
    await runAs('@acme/shop', { op: 'set', dir, ns, keys: ['k'] })
    const fromShop = { k: { key: 'k', when: '2023-11-14T22:13:20.000Z', tags: ['a'] } }
    expect(await runAs('@acme/shop', { op: 'get', dir, ns, keys: ['k'] })).toEqual(fromShop)
    expect(await runAs('@acme/billing', { op: 'get', dir, ns, keys: ['k'] })).toEqual({})
    expect(fs.readdirSync(dir)).toEqual([encodeDirName('memokit/@acme/shop')])
  }, 60_000)
})

describe('entries written before meta existed', () => {
  it('still read, with no meta', async () => {
    const dir = freshDir()
    const prefix = 'p'
    const nsDir = join(dir, encodeDirName(prefix), encodeDirName('ns'))
    fs.mkdirSync(nsDir, { recursive: true })
    // Byte for byte what the previous version wrote: header, then the codec's entry payload without meta.
    const old =
      'e1700000000000,,s{"json":{"a":[1,"x"],"when":"1970-01-01T00:00:00.000Z"},"meta":{"values":{"when":["Date"]},"v":1}};'
    fs.writeFileSync(join(nsDir, keyFileName('obj')), formatFile(prefix, 'ns', 'obj', undefined, old))
    const withTtl = 'e1700000000000,4102444800000,j"text";'
    fs.writeFileSync(join(nsDir, keyFileName('ttl')), formatFile(prefix, 'ns', 'ttl', 4_102_444_800_000, withTtl))
    for (const storage of [fileStorage({ dir, prefix }), fileStorageSync({ dir, prefix })]) {
      expect(await storage.get('ns', 'obj')).toEqual({
        value: { a: [1, 'x'], when: new Date(0) },
        createdAt: 1_700_000_000_000,
        expiresAt: undefined,
      })
      const entry = await storage.get('ns', 'ttl')
      expect(entry).toMatchObject({ value: 'text', createdAt: 1_700_000_000_000, expiresAt: 4_102_444_800_000 })
      expect(entry?.meta).toBeUndefined()
    }
  })
})
