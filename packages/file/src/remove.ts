/**
 * The file storage's removals (`delete`, `clear`, `prune`), generators like engine.ts.
 *
 * An entry file that no reader can use (truncated by a power loss, overwritten by garbage) is removed like a live
 * entry: left in place it would fail every read of a key the caller was told is gone.
 */
import { join } from 'node:path'
import { type Ctx, inspect, LOCK_STALE_MS, parseHeader, removeIfExpired, waitForLock } from './engine'
import { call, type Task } from './io'
import { type EntryPaths, fileKind, isTrashName, trashPath } from './layout'

/** `delete` of one entry file: `true` when it held the key's unexpired entry (by its header). */
export function* deleteTask(p: EntryPaths, ctx: Ctx, ns: string, key: string): Task<boolean> {
  const state = yield* inspect(p, ctx, ns, key)
  if (state === 'live') return yield* call('unlink', p.file)
  // Whatever it held sits at this key's name, and it was no live entry (get fails on it): `false`.
  if (state === 'corrupt') yield* call('unlink', p.file)
  else if (state === 'expired') yield* removeIfExpired(p, ctx, ns, key)
  return false
}

/**
 * Removes an entry file whose header does not parse, under the file's lock: an `add` replacing that file holds the
 * lock, and an unlink after its rename would delete the entry it just won. A namespace-wide walk can't skip the
 * file (it could be a matching key's), so a busy lock is waited for, past the age at which a crashed holder's
 * breaks.
 */
function* removeIfCorrupt(file: string): Task<void> {
  const lock = `${file}.lock`
  // 'nodir': a clear(namespace) moved the directory away, the file with it.
  if ((yield* waitForLock(lock, Date.now())) === 'nodir') return
  try {
    const text = yield* call('read', file)
    if (text !== undefined && parseHeader(text) === undefined) yield* call('unlink', file)
  } finally {
    yield* call('unlinkQuietly', lock)
  }
}

/** `clear` of a namespace, or with `keyPrefix` of its entries whose key starts with it. */
export function* clearTask(
  p: Pick<EntryPaths, 'prefixDir' | 'nsDir'>,
  ns: string,
  keyPrefix: string | undefined,
): Task<void> {
  if (keyPrefix === undefined || keyPrefix === '') {
    // Moving the directory away first makes the clear atomic for readers; deleting the tree can then take its time.
    const trash = trashPath(p.prefixDir)
    if (!(yield* call('rename', p.nsDir, trash))) return
    yield* call('removeTree', trash)
    return
  }
  // Keys are hashed into file names, so finding one function's entries means reading every header.
  for (const name of yield* call('list', p.nsDir)) {
    if (fileKind(name) !== 'entry') continue
    const file = join(p.nsDir, name)
    const text = yield* call('read', file)
    if (text === undefined) continue
    const parsed = parseHeader(text)
    // Without a header nothing tells whose entry this was, and no key can be read from it: it goes with any prefix.
    if (parsed === undefined) yield* removeIfCorrupt(file)
    else if (parsed.namespace === ns && parsed.key.startsWith(keyPrefix)) yield* call('unlink', file)
  }
}

/**
 * Removes expired entries, crash leftovers (temp files, stale locks) and unfinished clears; returns the count.
 * `pruneLease` removes a lease file if expired (lease-engine.ts, passed in to keep the modules acyclic).
 */
export function* pruneTask(
  prefixDir: string,
  ctx: Ctx,
  pruneLease: (prefixDir: string, file: string, now: number) => Task<boolean>,
): Task<number> {
  let removed = 0
  const now = Date.now()
  for (const dirName of yield* call('list', prefixDir)) {
    const nsDir = join(prefixDir, dirName)
    if (isTrashName(dirName)) {
      yield* call('removeTree', nsDir)
      continue
    }
    for (const name of yield* call('list', nsDir)) {
      const file = join(nsDir, name)
      const kind = fileKind(name)
      if (kind === 'entry') {
        const text = yield* call('read', file)
        const parsed = text === undefined ? undefined : parseHeader(text)
        if (parsed === undefined) continue
        if (parsed.expiresAt === undefined || parsed.expiresAt > now) continue
        const p: EntryPaths = { prefixDir, nsDir, file, lock: `${file}.lock` }
        if (yield* removeIfExpired(p, ctx, parsed.namespace, parsed.key)) removed++
      } else if (kind === 'lease') {
        if (yield* pruneLease(prefixDir, file, now)) removed++
      } else if (kind === 'temp' || kind === 'lock') {
        const maxAge = kind === 'temp' ? ctx.tempFileMaxAgeMs : LOCK_STALE_MS
        const mtime = yield* call('mtime', file)
        if (mtime !== undefined && now - mtime >= maxAge && (yield* call('unlink', file))) removed++
      }
    }
  }
  return removed
}
