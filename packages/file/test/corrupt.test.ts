/*
 * Entry files corrupted on disk the way a power loss (`set` does not fsync) or a disk error leaves them: a `get`
 * must report a CodecError, never a value, and `delete`, `clear` and `add` must treat such a file as what it is,
 * a key with no readable entry, instead of leaving it to fail every later read.
 */
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { CodecError, StorageError } from '@memokit/core'
import { fileStorage, fileStorageSync } from '@memokit/file'
import { LOCK_STALE_MS } from '../src/engine'
import { encodeDirName, keyFileName } from '../src/layout'

const root = fs.mkdtempSync(join(tmpdir(), 'memokit-file-corrupt-'))
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true })
})

const freshDir = () => join(root, randomBytes(6).toString('hex'))
const entryFile = (dir: string, prefix: string, ns: string, key: string) =>
  join(dir, encodeDirName(prefix), encodeDirName(ns), keyFileName(key))
const headerEnd = (text: string) => text.indexOf('\n', 5) + 1

/** How a file goes bad, and whether its header (prefix, namespace, key, expiry) still reads. */
const corruptions: readonly [name: string, damage: (text: string) => string | Uint8Array, headerReads: boolean][] = [
  ['zero-length', () => '', false],
  ['truncated in the magic line', (t) => t.slice(0, 3), false],
  ['truncated in the header', (t) => t.slice(0, headerEnd(t) - 6), false],
  // 0xff first: random bytes that happened to start with the magic line would be a different case.
  ['random bytes', () => Uint8Array.from([0xff, ...randomBytes(300)]), false],
  ['another format', () => '{"value":"not an entry file"}\n', false],
  ['a header that is not an entry header', () => 'MKF1\n{"key":"k"}\ne1,,j1;', false],
  ['truncated in the body', (t) => t.slice(0, t.length - 2), true],
  ['a valid header with a bad body', (t) => `${t.slice(0, headerEnd(t))}\u0000garbage`, true],
]

const kinds = [
  ['async', (dir: string) => fileStorage({ dir, prefix: 'p' })],
  ['sync', (dir: string) => fileStorageSync({ dir, prefix: 'p' })],
] as const
type Create = (typeof kinds)[number][1]

/** A storage over `ns`/`fn:1` written and then damaged, plus neighbours that nothing here may touch. */
function setUp(damage: (text: string) => string | Uint8Array, create: Create) {
  const dir = freshDir()
  const writer = fileStorageSync({ dir, prefix: 'p' })
  const other = fileStorageSync({ dir, prefix: 'other' })
  for (const ns of ['ns', 'ns2']) {
    writer.set(ns, 'fn:1', `${ns} value`, { ttl: 60_000 })
    writer.set(ns, 'other:1', `${ns} other`)
  }
  other.set('ns', 'fn:1', 'other prefix')
  const file = entryFile(dir, 'p', 'ns', 'fn:1')
  const damaged = damage(fs.readFileSync(file, 'utf8'))
  const bytes = typeof damaged === 'string' ? new TextEncoder().encode(damaged) : damaged
  fs.writeFileSync(file, damaged)
  // The same damage in another namespace: it belongs to that namespace, whatever happens to this one.
  const elsewhere = entryFile(dir, 'p', 'ns2', 'fn:1')
  fs.writeFileSync(elsewhere, damaged)
  const storage = create(dir)
  return {
    storage,
    file,
    /** Every neighbour outside the namespace is exactly as it was; `sibling`: so is `ns`/`other:1`. */
    async untouched(sibling = true) {
      expect(Uint8Array.from(fs.readFileSync(elsewhere))).toEqual(bytes)
      expect(writer.get('ns2', 'other:1')?.value).toBe('ns2 other')
      expect(other.get('ns', 'fn:1')?.value).toBe('other prefix')
      if (sibling) expect((await storage.get('ns', 'other:1'))?.value).toBe('ns other')
    },
    /** The damaged file is gone: the key reads as a miss. */
    async gone() {
      expect(fs.existsSync(file)).toBe(false)
      expect(await storage.get('ns', 'fn:1')).toBeUndefined()
    },
  }
}

describe.each(kinds)('a corrupt entry file (%s storage)', (_, create) => {
  describe.each(corruptions)('%s', (_name, damage, headerReads) => {
    it('reads as a CodecError, never as a value', async () => {
      const { storage } = setUp(damage, create)
      await expect((async () => storage.get('ns', 'fn:1'))()).rejects.toBeInstanceOf(CodecError)
    })

    it('is removed by delete, which reports a live entry only when its header said so', async () => {
      const { storage, gone, untouched } = setUp(damage, create)
      expect(await storage.delete('ns', 'fn:1')).toBe(headerReads)
      await gone()
      await untouched()
    })

    it('is removed by a clear of its namespace', async () => {
      const { storage, gone, untouched } = setUp(damage, create)
      await storage.clear('ns')
      await gone()
      await untouched(false)
    })

    it('is removed by a clear with a keyPrefix its key starts with', async () => {
      const { storage, gone, untouched } = setUp(damage, create)
      await storage.clear('ns', 'fn:')
      await gone()
      await untouched()
    })

    it('stays after a clear with another keyPrefix only when its header says it is another key', async () => {
      const { storage, file, untouched } = setUp(damage, create)
      await storage.clear('ns', 'nothing-matches:')
      // An unreadable header can't say whose the file is; it holds nobody's value, so the clear takes it.
      expect(fs.existsSync(file)).toBe(headerReads)
      await untouched()
    })

    it('is replaced by add, as a key without a live entry', async () => {
      const { storage, untouched } = setUp(damage, create)
      expect(await storage.add('ns', 'fn:1', 'added')).toBe(true)
      expect((await storage.get('ns', 'fn:1'))?.value).toBe('added')
      expect(await storage.add('ns', 'fn:1', 'second')).toBe(false)
      await untouched()
    })
  })
})

describe('a truncated entry file', () => {
  it('reads as a CodecError at every length short of the whole file, never as a value', async () => {
    const dir = freshDir()
    const sync = fileStorageSync({ dir, prefix: 'p' })
    const storage = fileStorage({ dir, prefix: 'p' })
    sync.set('ns', 'k', { n: 12345, list: [1, 2, 3], text: 'a;b"c' }, { ttl: 60_000, meta: { promise: true } })
    const file = entryFile(dir, 'p', 'ns', 'k')
    const whole = Uint8Array.from(fs.readFileSync(file))
    for (let length = 0; length < whole.length; length++) {
      fs.writeFileSync(file, whole.subarray(0, length))
      expect(() => sync.get('ns', 'k')).toThrow(CodecError)
      await expect(storage.get('ns', 'k')).rejects.toBeInstanceOf(CodecError)
    }
  })
})

describe('a keyPrefix clear and the key lock', () => {
  /** A corrupt `ns`/`fn:1` whose lock someone holds, as an `add` replacing the file does. */
  const lockedCorrupt = (lockAge: number) => {
    const dir = freshDir()
    const storage = fileStorage({ dir, prefix: 'p' })
    const file = entryFile(dir, 'p', 'ns', 'fn:1')
    fs.mkdirSync(join(file, '..'), { recursive: true })
    fs.writeFileSync(file, 'MKF1\n["p","n')
    const lock = `${file}.lock`
    fs.writeFileSync(lock, '1')
    const at = new Date(Date.now() - lockAge)
    fs.utimesSync(lock, at, at)
    return { dir, storage, file, lock }
  }

  it('waits for the holder, and keeps the entry an add wrote over the corrupt file meanwhile', async () => {
    const { dir, storage, file, lock } = lockedCorrupt(0)
    const elsewhere = freshDir()
    fileStorageSync({ dir: elsewhere, prefix: 'p' }).set('ns', 'fn:1', 'added under the lock')
    const added = fs.readFileSync(entryFile(elsewhere, 'p', 'ns', 'fn:1'), 'utf8')
    setTimeout(() => {
      fs.writeFileSync(`${file}.x.tmp`, added)
      fs.renameSync(`${file}.x.tmp`, file)
      fs.unlinkSync(lock)
    }, 50)
    await storage.clear('ns', 'fn:')
    // Unlinking it now would delete the entry an add just won (and let a second add win the key).
    expect(fileStorageSync({ dir, prefix: 'p' }).get('ns', 'fn:1')?.value).toBe('added under the lock')
  })

  it('breaks a lock left by a crashed process and removes the file', async () => {
    const { storage, file, lock } = lockedCorrupt(LOCK_STALE_MS + 1_000)
    await storage.clear('ns', 'fn:')
    expect(fs.existsSync(file)).toBe(false)
    expect(fs.existsSync(lock)).toBe(false)
  })

  it('fails with a StorageError, leaving the file, when a live holder keeps the lock past the wait', async () => {
    const { storage, file, lock } = lockedCorrupt(0)
    // A live holder: its lock never grows old enough to be taken for a crashed one's.
    const refresh = setInterval(() => fs.utimesSync(lock, new Date(), new Date()), 200)
    try {
      const error = await storage.clear('ns', 'fn:').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StorageError)
      expect(error).toMatchObject({ op: 'clear', storage: 'file' })
      expect(fs.existsSync(file)).toBe(true)
    } finally {
      clearInterval(refresh)
    }
  }, 20_000)
})
