/**
 * Keys under the namespace version: every entry (and lease) key embeds the namespace's current version, read from
 * the namespace's version key, so that `clear` moves a namespace's entries out of reach by changing one key.
 * This module keeps this process's memory of versions and reads them together with what an operation needs.
 */
import { CodecError } from '@memokit/core'
import type { MemcachedClient } from './client'
import { createKeySpace, type KeySpace } from './keys'
import { type NamespaceState, newToken, parseState, versionPart } from './namespace-state'
import type { Call } from './run'

// Namespaces whose version this process remembers (as a hint, or trusted for versionCacheMs); oldest dropped first.
const MAX_REMEMBERED_NAMESPACES = 10_000

/** What this process remembers of a namespace's version. */
export interface Remembered {
  readonly state: NamespaceState
  /** The namespace's version key (built once per namespace, not per read). */
  readonly vKey: string
  /** When a read last confirmed the state (Date.now(), ms): what versionCacheMs counts from. */
  at: number
}

/** What a check of the namespace version against a speculative attempt yields. */
type Attempt<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown }

/** `get` may trust a remembered version; `read` and `write` read it; only `write` creates an absent one. */
export type Mode = 'get' | 'read' | 'write'

/** The stored bytes as text (memcached clients answer strings or Buffers). */
export function asText(raw: unknown): string {
  if (typeof raw === 'string') return raw
  // memjs answers Buffers: decoded as they are (a view of another Uint8Array first costs a typed array per hit).
  if (Buffer.isBuffer(raw)) return raw.toString('utf8')
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')
  throw new CodecError(`the memcached client returned a ${typeof raw} where a string or Buffer was expected`)
}

/**
 * Whether an attempt made under `hint` stands under the state read, `state`: the same state, or `key` at the same
 * memcached keys under both (its version part is compared only when the state changed: nothing more per hit).
 */
const stands = (hint: NamespaceState, state: NamespaceState, key: string | undefined): boolean =>
  hint.raw === state.raw || (key !== undefined && versionPart(hint, key) === versionPart(state, key))

/** The versioned key space of one storage. */
export interface Versioned extends KeySpace {
  /**
   * Runs `action` with the namespace's current state. A get may trust a remembered state for versionCacheMs and
   * run once. Otherwise `action` runs speculatively with the remembered state in parallel with reading the version
   * key, and again with the read state if they differ (a speculative write then lands under a dead version:
   * unreachable, left to LRU). Writes never trust a remembered state: a delete or add under a version another
   * replica has replaced would miss the live entry. Resolves `undefined`, without running `action`, when the
   * namespace has no version and `mode` isn't `'write'`: nothing was written there since it was created or evicted.
   * `combined` reads the version key and runs the speculative action in one command (multi-get), when there is one.
   * `key`, the one key `action` acts on: when the remembered and the read state put it at the same memcached keys
   * (another replica cleared a prefix it isn't under), the speculative attempt stands. An action that isn't
   * idempotent (`add`, a lease) must pass it: run twice on one memcached key, it would answer what its own first run
   * left (an `add` answered `false` for the entry it had just stored, `acquireLease` for the lease it had just taken).
   */
  withState<R>(
    call: Call,
    ns: string,
    mode: Mode,
    action: (state: NamespaceState) => Promise<R>,
    combined?: (vKey: string, hint: NamespaceState) => Promise<[unknown, R]>,
    key?: string,
  ): Promise<R | undefined>
  /** The hit path's view (hit.ts): what this process remembers of `ns`'s version, if anything. */
  known(ns: string): Remembered | undefined
  /** Whether a get may use `known` without reading the version key (within versionCacheMs of its last read). */
  trusted(known: Remembered): boolean
  /** The clear epoch: what an operation takes when it starts, for {@link Versioned.confirm} and `resume`. */
  epoch(): number
  /** A read started at `epoch` found the version key holding `state` (remembered unless a clear overlapped). */
  confirm(ns: string, state: NamespaceState, epoch: number): void
  /**
   * The rest of `withState`'s combined read after its reply, for a get that made that read itself: `raw` is what
   * the version key held, `speculative` what was read under `hint`.
   */
  resume<R>(
    call: Call,
    ns: string,
    vKey: string,
    epoch: number,
    hint: NamespaceState,
    raw: unknown,
    speculative: R,
    action: (state: NamespaceState) => Promise<R>,
  ): R | Promise<R | undefined> | undefined
  /** Writes a fresh version (a whole-namespace clear) and returns it. */
  rotate(call: Call, ns: string): Promise<NamespaceState>
  /** A clear of `ns` starts: operations overlapping it must not remember the version they read (it may be the old one). */
  clearStarts(ns: string): void
  /** The clear ended; `fresh` is the version it wrote, if any (its own clear counts at once, whatever versionCacheMs says). */
  clearEnds(ns: string, fresh: NamespaceState | undefined): void
}

/** The versioned key space of a storage on `client` whose keys start with `escapedPrefix`. */
export function createVersioned(client: MemcachedClient, escapedPrefix: string, versionCacheMs: number): Versioned {
  const remembered = new Map<string, Remembered>()
  // Bumped when a clear of this storage starts and ends; an operation that saw it change remembers nothing.
  let clearEpoch = 0

  const { versionKey, entryKey, leaseKey } = createKeySpace(escapedPrefix)

  // A negative age is a wall clock stepped back since the read: not trusted, or the trust would last as long as
  // the step.
  const trusted = (known: Remembered): boolean => {
    if (versionCacheMs === 0) return false
    const age = Date.now() - known.at
    return age >= 0 && age < versionCacheMs
  }

  const remember = (ns: string, state: NamespaceState): void => {
    const known = remembered.get(ns)
    // The usual hit: the state read is the one remembered. Only the time moves (no Map re-insert per read); the
    // entry keeps its place in the eviction order, which only decides which namespace is read without a hint.
    if (known !== undefined && known.state === state) {
      if (versionCacheMs > 0) known.at = Date.now()
      return
    }
    remembered.delete(ns)
    remembered.set(ns, { state, vKey: known?.vKey ?? versionKey(ns), at: Date.now() })
    if (remembered.size > MAX_REMEMBERED_NAMESPACES) {
      const oldest = remembered.keys().next()
      if (!oldest.done) remembered.delete(oldest.value)
    }
  }

  const settle = <R>(promise: Promise<R>): Promise<Attempt<R>> =>
    promise.then(
      (value) => ({ ok: true, value }) as const,
      (error: unknown) => ({ ok: false, error }) as const,
    )

  // Creates the namespace version when it is absent (never written, or evicted: a fresh random version then
  // keeps the entries written under the old one out of reach), or replaces a value that isn't a version.
  const createState = async (call: Call, vKey: string, raw: unknown): Promise<NamespaceState> => {
    const fresh = newToken()
    if (raw === null || raw === undefined) {
      if (await call(() => client.add(vKey, fresh, 0))) return parseState(fresh) as NamespaceState
      // Another caller created it first: use theirs, so concurrent first writes land on one version.
      const theirs = await call(() => client.get(vKey))
      const state = theirs === null || theirs === undefined ? undefined : parseState(asText(theirs))
      if (state !== undefined) return state
    }
    // Not a version (or gone again at once): start a new one; entries under whatever was there become unreachable.
    await call(() => client.set(vKey, fresh, 0))
    return parseState(fresh) as NamespaceState
  }

  // What follows the version read: the state it names (created for a write when absent), remembered unless a clear
  // overlapped; then the speculative result if it stands under that state (see `stands`), else `action` under it.
  const afterVersion = <R>(
    call: Call,
    ns: string,
    vKey: string,
    mode: Mode,
    epoch: number,
    hint: NamespaceState | undefined,
    raw: unknown,
    speculative: Attempt<R> | undefined,
    action: (state: NamespaceState) => Promise<R>,
    key?: string,
  ): R | Promise<R | undefined> | undefined => {
    const finish = (state: NamespaceState): R | Promise<R> => {
      if (epoch === clearEpoch) remember(ns, state)
      if (speculative !== undefined && hint !== undefined && stands(hint, state, key)) {
        if (speculative.ok) return speculative.value
        throw speculative.error
      }
      return action(state)
    }
    const state = raw === null || raw === undefined ? undefined : stateOf(asText(raw), hint)
    if (state !== undefined) return finish(state)
    if (mode !== 'write') {
      remembered.delete(ns)
      return undefined
    }
    return createState(call, vKey, raw).then(finish)
  }

  // Not an async function: the usual hit (a remembered hint and a multi-get) is one `then` after the read.
  const withState = <R>(
    call: Call,
    ns: string,
    mode: Mode,
    action: (state: NamespaceState) => Promise<R>,
    combined?: (vKey: string, hint: NamespaceState) => Promise<[unknown, R]>,
    key?: string,
  ): Promise<R | undefined> => {
    const epoch = clearEpoch
    const known = remembered.get(ns)
    if (mode === 'get' && known !== undefined && trusted(known)) {
      return action(known.state)
    }
    const vKey = known?.vKey ?? versionKey(ns)
    const hint = known?.state
    if (hint === undefined) {
      return call(() => client.get(vKey)).then((raw) =>
        afterVersion(call, ns, vKey, mode, epoch, hint, raw, undefined, action),
      )
    }
    if (combined !== undefined) {
      return combined(vKey, hint).then(([raw, value]) =>
        afterVersion(call, ns, vKey, mode, epoch, hint, raw, { ok: true, value }, action, key),
      )
    }
    return Promise.all([call(() => client.get(vKey)), settle(action(hint))]).then(([raw, speculative]) =>
      afterVersion(call, ns, vKey, mode, epoch, hint, raw, speculative, action, key),
    )
  }

  // The version key usually holds what it held at the last read: then the remembered state is reused as is (no
  // parse, and `remember` sees the same object).
  const stateOf = (text: string, hint: NamespaceState | undefined): NamespaceState | undefined =>
    hint !== undefined && hint.raw === text ? hint : parseState(text)

  const rotate = async (call: Call, ns: string): Promise<NamespaceState> => {
    const fresh = newToken()
    await call(() => client.set(versionKey(ns), fresh, 0))
    return parseState(fresh) as NamespaceState
  }

  return {
    versionKey,
    entryKey,
    leaseKey,
    withState,
    known: (ns) => remembered.get(ns),
    trusted,
    epoch: () => clearEpoch,
    confirm(ns, state, epoch) {
      if (epoch === clearEpoch) remember(ns, state)
    },
    resume: (call, ns, vKey, epoch, hint, raw, speculative, action) =>
      afterVersion(call, ns, vKey, 'get', epoch, hint, raw, { ok: true, value: speculative }, action),
    rotate,
    clearStarts(ns) {
      clearEpoch++
      remembered.delete(ns)
    },
    clearEnds(ns, fresh) {
      clearEpoch++
      if (fresh !== undefined) remember(ns, fresh)
      else remembered.delete(ns)
    },
  }
}
