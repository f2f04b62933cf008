import type { KeyLayout } from './keys'
import type { KeyvLike } from './keyv-like'
import { type NamespaceState, newToken, parseState, parseVersion, versionPart, withMark } from './namespace-state'
import type { Call } from './run'

// Namespaces whose state this storage remembers as a hint; the oldest is dropped first.
const MAX_REMEMBERED = 10_000
// The marks key is read on every operation: past this size, a clear with a key prefix clears the whole namespace
// (starting a new, empty marks key) instead of adding one more mark.
const MAX_MARKS_CHARS = 2048
// Tries of a clear with a key prefix whose mark a concurrent one overwrote, before it clears the whole namespace.
const MARK_TRIES = 3

/** Where an entry of a namespace is, and what it holds. */
export interface Located {
  readonly physical: string
  readonly raw: unknown
}

/**
 * The namespace states of one storage in generation mode (see namespace-state.ts). Keyv has no atomic operation,
 * so the version key is only ever written blind, with a version never used before: whatever writes race, no
 * interleaving makes cleared entries reachable again, and losing a race only costs misses. A version's marks key
 * is written before the version, and a version whose marks key is missing (evicted) counts as no version, so a
 * lost marks key never brings back what a prefix clear removed. Marks are read, extended and written back: only a
 * clear with a key prefix can lose to a concurrent one (see {@link Generations.clearPrefix}).
 */
export interface Generations {
  /** The entry `key` under the namespace's state; `undefined` when the namespace has no state (nothing stored). */
  locate(call: Call, namespace: string, key: string): Promise<Located | undefined>
  /** The entry key of `key` under the namespace's state, which is created first when there is none. */
  writeKey(call: Call, namespace: string, key: string): Promise<string>
  /** Writes a new version: every entry of the namespace is out of reach at once. */
  rotate(call: Call, namespace: string): Promise<void>
  /**
   * Marks `keyPrefix` with a new token: the namespace's entries whose key starts with it are out of reach. Checks
   * the mark was kept after writing it, and marks again when a concurrent clear of this namespace overwrote it;
   * after {@link MARK_TRIES} tries, or past 2 KB of marks, clears the whole namespace instead (more, never less).
   * A concurrent clear from another process that read the marks before this write and writes after its check can
   * still drop this mark: clears with key prefixes of one namespace are serialized within this storage object.
   */
  clearPrefix(call: Call, namespace: string, keyPrefix: string): Promise<void>
}

/** The namespace states of a storage writing through `keyv` with `layout`. */
export function createGenerations(keyv: KeyvLike, layout: KeyLayout): Generations {
  const remembered = new Map<string, NamespaceState>()
  // First writes of one namespace in this process share one new version instead of overwriting each other's.
  const creating = new Map<string, Promise<NamespaceState>>()
  const marking = new Map<string, Promise<void>>()

  const remember = (namespace: string, state: NamespaceState | undefined): NamespaceState | undefined => {
    remembered.delete(namespace)
    if (state === undefined) return undefined
    remembered.set(namespace, state)
    if (remembered.size > MAX_REMEMBERED) {
      const oldest = remembered.keys().next()
      if (!oldest.done) remembered.delete(oldest.value)
    }
    return state
  }

  const entryKey = (namespace: string, state: NamespaceState, key: string): string =>
    layout.entry(namespace, key, versionPart(state, key))

  // No expiry: Keyv applies its own default ttl, if it has one (the README says so); an expired version or marks
  // key only acts as a clear.
  const put = async (call: Call, key: string, value: string): Promise<void> => {
    if (!(await call(() => keyv.set(key, value)))) throw new Error("Keyv's set returned false (the store failed)")
  }

  // Reads the version, and the marks of the remembered version at the same time; the marks again if it changed.
  const fetchState = async (call: Call, namespace: string): Promise<NamespaceState | undefined> => {
    const hint = remembered.get(namespace)
    const [rawVersion, hintMarks] = await Promise.all([
      call(() => keyv.get(layout.version(namespace))),
      hint === undefined ? undefined : call(() => keyv.get(layout.marks(namespace, hint.version))),
    ])
    const version = parseVersion(rawVersion)
    if (version === undefined) return remember(namespace, undefined)
    const marks = version === hint?.version ? hintMarks : await call(() => keyv.get(layout.marks(namespace, version)))
    return remember(namespace, parseState(version, marks))
  }

  const create = async (call: Call, namespace: string): Promise<NamespaceState> => {
    const version = newToken()
    // Marks first: a version is never seen without its marks key, so a missing one always means a lost one.
    await put(call, layout.marks(namespace, version), '[]')
    await put(call, layout.version(namespace), version)
    return remember(namespace, { version, marksRaw: '[]', marks: new Map() }) as NamespaceState
  }

  const markOnce = async (call: Call, namespace: string, keyPrefix: string): Promise<boolean> => {
    const state = await fetchState(call, namespace)
    // No state: nothing of the namespace is reachable.
    if (state === undefined) return true
    if (state.marksRaw.length > MAX_MARKS_CHARS) {
      await create(call, namespace)
      return true
    }
    const token = newToken()
    await put(call, layout.marks(namespace, state.version), withMark(state, keyPrefix, token))
    const after = await fetchState(call, namespace)
    return after === undefined || after.version !== state.version || after.marks.get(keyPrefix) === token
  }

  return {
    async locate(call, namespace, key) {
      const hint = remembered.get(namespace)
      if (hint === undefined) {
        const state = await fetchState(call, namespace)
        if (state === undefined) return undefined
        const physical = entryKey(namespace, state, key)
        return { physical, raw: await call(() => keyv.get(physical)) }
      }
      // With a remembered state, the entry is read at the same time as the state: one round trip while no clear
      // happened.
      const guess = entryKey(namespace, hint, key)
      const [state, raw] = await Promise.all([fetchState(call, namespace), call(() => keyv.get(guess))])
      if (state === undefined) return undefined
      const physical = entryKey(namespace, state, key)
      return { physical, raw: physical === guess ? raw : await call(() => keyv.get(physical)) }
    },

    async writeKey(call, namespace, key) {
      let state = await fetchState(call, namespace)
      if (state === undefined) {
        let pending = creating.get(namespace)
        if (pending === undefined) {
          pending = create(call, namespace).finally(() => creating.delete(namespace))
          creating.set(namespace, pending)
        }
        state = await pending
      }
      return entryKey(namespace, state, key)
    },

    async rotate(call, namespace) {
      await create(call, namespace)
    },

    async clearPrefix(call, namespace, keyPrefix) {
      const before = marking.get(namespace) ?? Promise.resolve()
      const mine = before.then(async () => {
        for (let i = 0; i < MARK_TRIES; i++) if (await markOnce(call, namespace, keyPrefix)) return
        await create(call, namespace)
      })
      const settled = mine.catch(() => undefined)
      marking.set(namespace, settled)
      void settled.then(() => {
        if (marking.get(namespace) === settled) marking.delete(namespace)
      })
      return mine
    },
  }
}
