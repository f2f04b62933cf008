/**
 * Tag invalidation by version tokens. Each tag has a random token, stored as an ordinary entry of the reserved
 * namespace `memokit:tags`; an entry keeps the tokens its tags had when its computation *started*. Invalidating a
 * tag writes a new token (one write, however many entries carry the tag), so every entry computed under the old
 * one is invalid on its next read, on every replica, without comparing clocks. A token that cannot be read, or is
 * missing, makes its entries invalid: never valid.
 */
import { randomBytes } from 'node:crypto'
import { describe } from './describe'
import { ConfigError, KeyError } from './errors'
import { MISS, WithMeta } from './memory'
import { isPromiseLike, resolveStorage, TAG_NAMESPACE } from './options'
import type { Plan } from './plan'
import { toStorageError } from './report'
import type { AnyStorage, Entry, EntryMeta, MaybePromise } from './storage'
import { SKIPPED } from './store'

/** Tag → the token it had when a computation started; what an entry stores as `meta.tags`. */
export type TagSnapshot = Readonly<Record<string, string>>

const newToken = (): string => randomBytes(16).toString('base64url')

/** The tags of one call, checked: an array of non-empty strings, without duplicates. */
export function tagsOf(plan: Plan, args: unknown[]): readonly string[] {
  const tags = (plan.tags as (...a: unknown[]) => unknown)(...args)
  const bad = (path: string, value: unknown, why: string): KeyError =>
    new KeyError(
      `${plan.name}: tags must return an array of non-empty strings, but ${path} ${why}; return e.g. ['user:' + id]`,
      { path, valueType: value === null ? 'null' : typeof value, functionName: plan.name },
    )
  if (!Array.isArray(tags)) throw bad('tags(...args)', tags, `is ${tags === null ? 'null' : typeof tags}`)
  for (let i = 0; i < tags.length; i++) {
    const tag: unknown = tags[i]
    if (typeof tag !== 'string' || tag.length === 0) throw bad(`tags(...args)[${i}]`, tag, 'is not a non-empty string')
  }
  return tags.length < 2 ? tags : [...new Set(tags as string[])]
}

/** The tokens of `tags`, in order; `undefined` for a missing token. One batched read when the storage has getMany. */
function readTokens(storage: AnyStorage, tags: readonly string[]): MaybePromise<(string | undefined)[], boolean> {
  const tokenOf = (entry: Entry | undefined): string | undefined =>
    typeof entry?.value === 'string' ? entry.value : undefined
  if (storage.getMany !== undefined) {
    const found = storage.getMany(TAG_NAMESPACE, tags)
    return isPromiseLike(found) ? found.then((all) => all.map(tokenOf)) : found.map(tokenOf)
  }
  if (!storage.async) return tags.map((tag) => tokenOf(storage.get(TAG_NAMESPACE, tag)))
  return Promise.all(tags.map((tag) => storage.get(TAG_NAMESPACE, tag).then(tokenOf)))
}

/** Creates the token of a tag that has none (`add` when the storage has it, so two replicas agree on one). */
function createToken(storage: AnyStorage, tag: string): MaybePromise<string | undefined, boolean> {
  const token = newToken()
  if (storage.add === undefined) {
    const done = storage.set(TAG_NAMESPACE, tag, token)
    return isPromiseLike(done) ? done.then(() => token) : token
  }
  // Lost the race: another caller created it first; use theirs (undefined if it vanished again: not stored).
  const reread = (added: boolean): MaybePromise<string | undefined, boolean> => {
    if (added) return token
    const found = storage.get(TAG_NAMESPACE, tag)
    const tokenOf = (e: Entry | undefined) => (typeof e?.value === 'string' ? e.value : undefined)
    return isPromiseLike(found) ? found.then(tokenOf) : tokenOf(found as Entry | undefined)
  }
  const added = storage.add(TAG_NAMESPACE, tag, token)
  return isPromiseLike(added) ? added.then(reread) : reread(added as boolean)
}

/**
 * The current tokens of a call's tags, creating missing ones; read before `fn` runs, so an invalidation while it
 * runs makes its entry invalid. `undefined` when the storage failed (reported): the result is then not stored.
 */
export function snapshotTags(plan: Plan, tags: readonly string[]): MaybePromise<TagSnapshot | undefined, boolean> {
  const { storage } = plan
  const failed = (error: unknown): undefined => {
    plan.report('get', TAG_NAMESPACE, undefined, toStorageError(storage, 'get', error))
    return undefined
  }
  const build = (tokens: (string | undefined)[]): MaybePromise<TagSnapshot | undefined, boolean> => {
    const missing = tags.filter((_, i) => tokens[i] === undefined)
    const snapshot = (made: (string | undefined)[]): TagSnapshot | undefined => {
      const out: Record<string, string> = {}
      for (let i = 0, m = 0; i < tags.length; i++) {
        const token = tokens[i] ?? made[m++]
        if (token === undefined) return undefined
        out[tags[i] as string] = token
      }
      return out
    }
    if (missing.length === 0) return snapshot([])
    const made = missing.map((tag) => createToken(storage, tag))
    return storage.async ? Promise.all(made).then(snapshot) : snapshot(made as (string | undefined)[])
  }
  try {
    const tokens = readTokens(storage, tags)
    if (!isPromiseLike(tokens)) return build(tokens)
    return tokens.then(build).catch(failed)
  } catch (error) {
    return failed(error)
  }
}

/**
 * What a read found, checked against its tags: unchanged while every tag still has the token the entry was
 * computed under, else the entry with its timeline cut (never served fresh or through `swr`, still usable within
 * `staleIfError`), or MISS when it has no stale-if-error window. An entry stored with other tags than this call's
 * (the tags function changed) is invalid too.
 */
export function verifyTags(plan: Plan, args: unknown[], held: unknown): MaybePromise<unknown, boolean> {
  // Checked on a miss too, so a bad tags function fails the call before `fn` runs.
  const tags = tagsOf(plan, args)
  if (held === MISS || held === SKIPPED) return held
  const stored = held instanceof WithMeta ? held.meta.tags : undefined
  if (stored === undefined) return tags.length === 0 ? held : invalid(held)
  const names = Object.keys(stored)
  if (names.length !== tags.length || tags.some((t) => stored[t] === undefined)) return invalid(held)
  if (tags.length === 0) return held
  const judge = (tokens: (string | undefined)[]): unknown =>
    tokens.every((token, i) => token !== undefined && token === stored[tags[i] as string]) ? held : invalid(held)
  const failed = (error: unknown): unknown => {
    if (!plan.failOpen) throw toStorageError(plan.storage, 'get', error)
    plan.report('get', TAG_NAMESPACE, undefined, toStorageError(plan.storage, 'get', error))
    return invalid(held)
  }
  try {
    const tokens = readTokens(plan.storage, tags)
    return isPromiseLike(tokens) ? tokens.then(judge, failed) : judge(tokens)
  } catch (error) {
    return failed(error)
  }
}

function invalid(held: unknown): unknown {
  if (!(held instanceof WithMeta) || held.meta.errorUntil === undefined) return MISS
  const { refreshAt: _, swrUntil: __, ...rest } = held.meta
  const meta: EntryMeta = { ...rest, staleAt: 0 }
  return new WithMeta(held.value, meta, held.createdAt)
}

/**
 * Invalidates every entry computed under any of `tags`, in every namespace of `storage` and on every replica that
 * shares it: one write per tag (a new random token), whatever the number of entries. A sync storage answers
 * directly, an async one with a Promise. A storage failure throws (rejects) a `StorageError`: unlike a cached
 * call, an invalidation must not fail silently.
 * @example await invalidateTags(redis, ['user:42'])
 */
export function invalidateTags<S extends AnyStorage>(
  storage: S,
  tags: readonly string[],
): MaybePromise<void, S extends { readonly async: true } ? true : false>
export function invalidateTags(storage: AnyStorage, tags: readonly string[]): MaybePromise<void, boolean> {
  const s = resolveStorage('invalidateTags', storage ?? null)
  const ok = Array.isArray(tags) && tags.length > 0 && tags.every((t) => typeof t === 'string' && t.length > 0)
  if (!ok) {
    throw new ConfigError(
      'tags',
      `invalidateTags: tags must be a non-empty array of non-empty strings, got ${describe(tags)}; e.g. invalidateTags(storage, ['user:42'])`,
    )
  }
  const fail = (error: unknown): never => {
    throw toStorageError(s, 'set', error)
  }
  if (!s.async) {
    try {
      for (const tag of tags) s.set(TAG_NAMESPACE, tag, newToken())
    } catch (error) {
      fail(error)
    }
    return
  }
  return Promise.all(tags.map((tag) => s.set(TAG_NAMESPACE, tag, newToken()))).then(() => undefined, fail)
}
