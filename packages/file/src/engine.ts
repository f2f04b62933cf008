/**
 * The file storage's algorithms, written once as generators that yield I/O requests. A sync driver answers them
 * with `node:fs` sync calls and an async driver with `node:fs/promises`, so `fileStorageSync` and `fileStorage`
 * share every decision and differ only in how they touch the disk. Here: the entry's state and lock, reads and
 * writes; `delete`, `clear` and `prune` are in remove.ts.
 */
import type { Codec, Entry, SetOptions } from '@memokit/core'
import { call, type Task } from './io'
import { belongsTo, type EntryPaths, formatFile, type ParsedFile, parseFile, tempPath } from './layout'

/** What the algorithms need to know about the storage. */
export interface Ctx {
  readonly prefix: string
  readonly codec: Codec
  /** Temp files older than this are crash leftovers; `prune` removes them. */
  readonly tempFileMaxAgeMs: number
}

/** A lock file older than this belongs to a crashed process (locks are held for one read and one rename). */
export const LOCK_STALE_MS = 5_000
/** How long `add` keeps retrying while another writer holds the key's lock, and the pause between tries. */
const ADD_LOCK_WAIT_MS = 1_000
const ADD_RETRY_PAUSE_MS = 2
/** Retries of a write whose directory a concurrent `clear` removed. */
const WRITE_ATTEMPTS = 5

/** How long a caller that must act waits for a busy lock: past the age at which a crashed holder's is broken. */
export const LOCK_WAIT_MS = LOCK_STALE_MS + 1_000

/**
 * What the key's file holds: `'foreign'` is another key's entry (its header says so), `'corrupt'` a file no
 * reader can use (no header that parses, or with `decode`, a payload the codec refuses).
 */
type State = 'absent' | 'live' | 'expired' | 'foreign' | 'corrupt'

/** An entry file's header, or `undefined` when the text has none (truncated, garbage, another format). */
export function parseHeader(text: string): ParsedFile | undefined {
  try {
    return parseFile(text)
  } catch {
    return undefined
  }
}

function stateOf(text: string | undefined, ctx: Ctx, ns: string, key: string, decode: boolean): State {
  if (text === undefined) return 'absent'
  const parsed = parseHeader(text)
  if (parsed === undefined) return 'corrupt'
  if (!belongsTo(parsed, ctx.prefix, ns, key)) return 'foreign'
  if (parsed.expiresAt !== undefined && parsed.expiresAt <= Date.now()) return 'expired'
  if (!decode) return 'live'
  try {
    ctx.codec.decodeEntry(parsed.payload)
    return 'live'
  } catch {
    // Whatever the codec throws, get fails on this file too: it holds no value.
    return 'corrupt'
  }
}

/** The state of the key's file; `decode` also decodes a live entry's payload (only `add` needs to know). */
export function* inspect(p: EntryPaths, ctx: Ctx, ns: string, key: string, decode = false): Task<State> {
  return stateOf(yield* call('read', p.file), ctx, ns, key, decode)
}

/** Takes the key's lock, breaking it when its holder evidently crashed. */
function* tryLock(p: EntryPaths): Task<boolean> {
  return (yield* tryLockAt(p.lock)) === 'locked'
}

/** Takes the lock file `lock`: `'busy'` while a live holder has it, `'nodir'` when its directory is missing. */
export function* tryLockAt(lock: string): Task<'locked' | 'busy' | 'nodir'> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const created = yield* call('create', lock, String(process.pid))
    if (created === 'ok') return 'locked'
    if (created === 'nodir') return 'nodir'
    const mtime = yield* call('mtime', lock)
    // Released between our create and stat: try again.
    if (mtime === undefined) continue
    if (Date.now() - mtime < LOCK_STALE_MS) return 'busy'
    yield* call('unlinkQuietly', lock)
  }
  return 'busy'
}

/**
 * Takes the lock file `lock`, waiting for a busy one until LOCK_WAIT_MS after `since` (then throws); `'nodir'` as
 * tryLockAt, for the caller to create the directory or give up.
 */
export function* waitForLock(lock: string, since: number): Task<'locked' | 'nodir'> {
  for (;;) {
    const got = yield* tryLockAt(lock)
    if (got !== 'busy') return got
    if (Date.now() > since + LOCK_WAIT_MS) throw new Error(`the lock ${lock} stayed busy for ${LOCK_WAIT_MS} ms`)
    yield* call('sleep', 1)
  }
}

/**
 * Removes the entry if it is (still) expired. Under the key's lock, so it cannot remove an entry that `add`
 * has just written over an expired one; skipped when the lock is busy (whoever holds it deals with the entry).
 * A plain `set` does not take the lock: one landing between the check and the unlink is lost, which costs a
 * later miss, never a wrong value.
 */
export function* removeIfExpired(p: EntryPaths, ctx: Ctx, ns: string, key: string): Task<boolean> {
  if (!(yield* tryLock(p))) return false
  try {
    if ((yield* inspect(p, ctx, ns, key)) !== 'expired') return false
    return yield* call('unlink', p.file)
  } finally {
    yield* call('unlinkQuietly', p.lock)
  }
}

/** Writes `content` into a fresh temp file next to `target` (the entry), creating directories as needed. */
function* writeTemp(p: EntryPaths, content: string, target = p.file): Task<string> {
  for (let attempt = 0; ; attempt++) {
    const tmp = tempPath(target)
    const created = yield* call('create', tmp, content)
    if (created === 'ok') return tmp
    if (attempt >= WRITE_ATTEMPTS) break
    if (created === 'nodir') yield* call('mkdirp', p.nsDir)
  }
  throw new Error(`could not create a temp file in ${p.nsDir}: its directory kept disappearing`)
}

/** An entry file's contents for `value` written now. */
export const encode = (ctx: Ctx, ns: string, key: string, value: unknown, options: SetOptions | undefined): string => {
  const createdAt = Date.now()
  const ttl = options?.ttl
  const expiresAt = ttl === undefined ? undefined : createdAt + ttl
  // meta rides in the codec's entry payload (decodeEntry returns it); the header stays what walks need.
  return formatFile(
    ctx.prefix,
    ns,
    key,
    expiresAt,
    ctx.codec.encodeEntry({ value, createdAt, expiresAt, meta: options?.meta }),
  )
}

export function* getTask(p: EntryPaths, ctx: Ctx, ns: string, key: string): Task<Entry | undefined> {
  const text = yield* call('read', p.file)
  if (text === undefined) return undefined
  const parsed = parseFile(text)
  if (!belongsTo(parsed, ctx.prefix, ns, key)) return undefined
  if (parsed.expiresAt !== undefined && parsed.expiresAt <= Date.now()) {
    yield* removeIfExpired(p, ctx, ns, key)
    return undefined
  }
  return ctx.codec.decodeEntry(parsed.payload)
}

/** `set`: publishes `content` (the entry file {@link encode} made when the call began) as the key's entry. */
export function* setTask(p: EntryPaths, content: string): Task<void> {
  yield* publish(p, p.file, content)
}

/** Writes `content` as `target` (the entry or a file beside it) atomically, creating directories as needed. */
export function* publish(p: EntryPaths, target: string, content: string): Task<void> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const tmp = yield* writeTemp(p, content, target)
    let published = false
    try {
      // rename replaces atomically: readers see the old file or the new one, never a partial one.
      published = yield* call('rename', tmp, target)
    } finally {
      if (!published) yield* call('unlinkQuietly', tmp)
    }
    if (published) return
    // The directory vanished between the temp write and the rename (a concurrent clear): write again.
  }
  throw new Error(`could not publish ${target}: its directory kept disappearing`)
}

/** `add` of `content` (the entry file {@link encode} made when the call began): `true` when this call wrote it. */
export function* addTask(p: EntryPaths, ctx: Ctx, ns: string, key: string, content: string): Task<boolean> {
  const deadline = Date.now() + ADD_LOCK_WAIT_MS
  // One temp file serves every attempt; it is written again only if a concurrent clear took it away.
  let tmp: string | undefined
  try {
    while (Date.now() <= deadline) {
      if (tmp === undefined) tmp = yield* writeTemp(p, content)
      // link fails with EEXIST when the entry exists: the atomic "create if absent".
      const linked = yield* call('link', tmp, p.file)
      if (linked === 'ok') return true
      if (linked === 'nodir') {
        tmp = undefined
        continue
      }
      // Decoded: a file whose value get can't return holds no live entry, and add must not lose to it.
      const state = yield* inspect(p, ctx, ns, key, true)
      if (state === 'live') return false
      if (state === 'absent') continue
      // Expired, another key's or corrupt: replace it, under the lock so that only one adder (and no cleanup) acts.
      if (!(yield* tryLock(p))) {
        yield* call('sleep', ADD_RETRY_PAUSE_MS)
        continue
      }
      try {
        const again = yield* inspect(p, ctx, ns, key, true)
        if (again === 'live') return false
        if (again !== 'absent') {
          const replaced = yield* call('rename', tmp, p.file)
          tmp = undefined
          if (replaced) return true
        }
      } finally {
        yield* call('unlinkQuietly', p.lock)
      }
    }
  } finally {
    // After a link the temp name is a second name of the entry; after a rename it no longer exists.
    if (tmp !== undefined) yield* call('unlinkQuietly', tmp)
  }
  throw new Error(`add gave up on ${p.file}: the key stayed locked by another writer for ${ADD_LOCK_WAIT_MS} ms`)
}
