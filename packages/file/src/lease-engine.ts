/**
 * The file storage's leases (`acquireLease` and friends of the storage contract), as generators like engine.ts.
 *
 * Every change of a key's lease, and every fenced write, happens under the key's lease lock (an exclusively
 * created file in `.lease-locks/`, see lease-layout.ts), so check and change are one step for every process on
 * the machine. The one thing the lock can't hold back is `clear(namespace)`, which moves the whole namespace
 * directory away: a fenced write and an extension therefore first create their file in the namespace directory
 * (the witness) and publish it by `rename` only after the check, which fails once the directory was moved.
 */
import { join } from 'node:path'
import type { SetOptions } from '@memokit/core'
import { type Ctx, encode, publish, tryLockAt, waitForLock } from './engine'
import { call, type Task } from './io'
import { type EntryPaths, entryPaths, fileKind, tempPath } from './layout'
import { formatLease, type LeasePaths, leasePaths, type ParsedLease, parseLease } from './lease-layout'
import { clearTask, deleteTask } from './remove'

/** The live lease on the key, or `undefined` (none, expired, or a file that is not this key's lease). */
function* liveLease(l: LeasePaths, ctx: Ctx, ns: string, key: string): Task<ParsedLease | undefined> {
  const text = yield* call('read', l.lease)
  const lease = text === undefined ? undefined : parseLease(text)
  if (lease === undefined || lease.until <= Date.now()) return undefined
  return lease.prefix === ctx.prefix && lease.namespace === ns && lease.key === key ? lease : undefined
}

function* heldBy(l: LeasePaths, ctx: Ctx, ns: string, key: string, token: string): Task<boolean> {
  return (yield* liveLease(l, ctx, ns, key))?.token === token
}

/** Runs `body` holding the key's lease lock, waiting while another process holds it. */
function* underLock<T>(l: LeasePaths, body: () => Task<T>): Task<T> {
  const since = Date.now()
  while ((yield* waitForLock(l.lock, since)) === 'nodir') yield* call('mkdirp', l.lockDir)
  try {
    return yield* body()
  } finally {
    yield* call('unlinkQuietly', l.lock)
  }
}

/**
 * Publishes `content` as `target` only if `check` still holds after the witness exists: `false` when the check
 * fails or a `clear(namespace)` moved the directory away meanwhile (the witness went with it, the rename fails).
 */
function* publishIf(target: string, content: string, check: () => Task<boolean>): Task<boolean> {
  let witness: string | undefined = tempPath(target)
  // Not creating the directory: without it there is no lease to act on.
  if ((yield* call('create', witness, content)) !== 'ok') return false
  try {
    if (!(yield* check())) return false
    const moved = yield* call('rename', witness, target)
    if (moved) witness = undefined
    return moved
  } finally {
    if (witness !== undefined) yield* call('unlinkQuietly', witness)
  }
}

const leaseOf = (ctx: Ctx, ns: string, key: string, token: string, ttl: number): string =>
  formatLease({ prefix: ctx.prefix, namespace: ns, key, token, until: Date.now() + ttl })

export function* acquireLeaseTask(p: EntryPaths, ctx: Ctx, ns: string, key: string, token: string, ttl: number) {
  const l = leasePaths(p, ns, key)
  // A live lease answers without the lock: the read is the moment this call failed.
  if ((yield* liveLease(l, ctx, ns, key)) !== undefined) return false
  return yield* underLock(l, function* () {
    if ((yield* liveLease(l, ctx, ns, key)) !== undefined) return false
    // Only lock holders write leases, so after a clear moved the directory the key is free there too.
    yield* publish(p, l.lease, leaseOf(ctx, ns, key, token, ttl))
    return true
  })
}

export function* releaseLeaseTask(p: EntryPaths, ctx: Ctx, ns: string, key: string, token: string): Task<boolean> {
  const l = leasePaths(p, ns, key)
  if (!(yield* heldBy(l, ctx, ns, key, token))) return false
  return yield* underLock(l, function* () {
    if (!(yield* heldBy(l, ctx, ns, key, token))) return false
    return yield* call('unlink', l.lease)
  })
}

export function* extendLeaseTask(p: EntryPaths, ctx: Ctx, ns: string, key: string, token: string, ttl: number) {
  const l = leasePaths(p, ns, key)
  if (!(yield* heldBy(l, ctx, ns, key, token))) return false
  return yield* underLock(l, () =>
    publishIf(l.lease, leaseOf(ctx, ns, key, token, ttl), () => heldBy(l, ctx, ns, key, token)),
  )
}

export function* setIfLeasedTask(
  p: EntryPaths,
  ctx: Ctx,
  ns: string,
  key: string,
  value: unknown,
  token: string,
  options: SetOptions | undefined,
): Task<boolean> {
  const l = leasePaths(p, ns, key)
  if (!(yield* heldBy(l, ctx, ns, key, token))) return false
  const content = encode(ctx, ns, key, value, options)
  return yield* underLock(l, function* () {
    if (!(yield* publishIf(p.file, content, () => heldBy(l, ctx, ns, key, token)))) return false
    // Safe even if a clear moved the directory since: only this lock's holder could have leased the key anew.
    yield* call('unlink', l.lease)
    return true
  })
}

/** `delete` with its lease: the lease goes first, under the lock, so a fenced write can't land after the delete. */
export function* deleteLeasedTask(p: EntryPaths, ctx: Ctx, ns: string, key: string): Task<boolean> {
  const l = leasePaths(p, ns, key)
  if ((yield* call('mtime', l.lease)) !== undefined) {
    yield* underLock(l, function* () {
      yield* call('unlink', l.lease)
    })
  }
  return yield* deleteTask(p, ctx, ns, key)
}

/** `clear` with its leases: a keyPrefix clear removes the matching leases (under their locks) before the entries. */
export function* clearLeasedTask(p: EntryPaths, ctx: Ctx, ns: string, keyPrefix: string | undefined): Task<void> {
  // A whole-namespace clear moves the directory, leases included.
  if (keyPrefix !== undefined && keyPrefix !== '') {
    for (const name of yield* call('list', p.nsDir)) {
      if (fileKind(name) !== 'lease') continue
      const text = yield* call('read', join(p.nsDir, name))
      const lease = text === undefined ? undefined : parseLease(text)
      if (lease === undefined || lease.prefix !== ctx.prefix || lease.namespace !== ns) continue
      if (!lease.key.startsWith(keyPrefix)) continue
      const own = entryPaths(p.prefixDir, ns, lease.key)
      const l = leasePaths(own, ns, lease.key)
      yield* underLock(l, function* () {
        yield* call('unlink', l.lease)
      })
    }
  }
  // Listed after the leases are gone: a fenced write that got in before them is on disk now and goes too.
  yield* clearTask(p, ns, keyPrefix)
}

/** `prune` of one lease file: removed when expired, under its lock (skipped while busy). `true` when removed. */
export function* pruneLeaseTask(prefixDir: string, file: string, now: number): Task<boolean> {
  const text = yield* call('read', file)
  const lease = text === undefined ? undefined : parseLease(text)
  if (lease === undefined || lease.until > now) return false
  const l = leasePaths(entryPaths(prefixDir, lease.namespace, lease.key), lease.namespace, lease.key)
  if ((yield* tryLockAt(l.lock)) !== 'locked') return false
  try {
    const again = yield* call('read', file)
    const current = again === undefined ? undefined : parseLease(again)
    return current !== undefined && current.until <= Date.now() && (yield* call('unlink', file))
  } finally {
    yield* call('unlinkQuietly', l.lock)
  }
}
