import { ConfigError } from './errors'
import type { AnyStorage } from './storage'

/** What all wrappers sharing one (storage, namespace, name) have in common. */
export interface Identity {
  readonly fn: unknown
  readonly implicit: boolean
  readonly namespace: string
  /** In-flight computations by key, so concurrent callers of one key run the function once. */
  readonly pending: Map<string, Promise<unknown>>
  /** Whether the function returns promises: known for `async` functions, else learned on its first result. */
  returnsPromise: boolean | undefined
}

const registry = new WeakMap<AnyStorage, Map<string, Identity>>()
const AsyncFunction = (async () => {}).constructor

/**
 * Registers a wrapped function's identity. Two different functions with the same IMPLICIT name on one storage
 * and namespace would silently share results, so that is a ConfigError; an explicit `name` shares on purpose.
 */
export function claimIdentity(
  storage: AnyStorage,
  namespace: string,
  name: string,
  fn: (...args: never[]) => unknown,
  implicit: boolean,
): Identity {
  let byName = registry.get(storage)
  if (byName === undefined) {
    byName = new Map()
    registry.set(storage, byName)
  }
  const id = JSON.stringify([namespace, name])
  const existing = byName.get(id)
  if (existing !== undefined) {
    if (existing.fn !== fn && existing.implicit && implicit) {
      throw new ConfigError(
        'name',
        `cacheValue: two different functions are both named '${name}' in namespace '${namespace}' on the same ${storage.name} storage, so they would share cached results; give each a distinct \`name\` option (or a different namespace)`,
      )
    }
    return existing
  }
  const identity: Identity = {
    fn,
    implicit,
    namespace,
    pending: new Map(),
    returnsPromise: fn instanceof AsyncFunction ? true : undefined,
  }
  byName.set(id, identity)
  return identity
}

/** Forgets in-flight computations of the given namespaces, so their late results are not written after a clear. */
export function forgetPending(storage: AnyStorage, namespaces: readonly string[]): void {
  const byName = registry.get(storage)
  if (byName === undefined) return
  for (const identity of byName.values()) {
    if (namespaces.includes(identity.namespace)) identity.pending.clear()
  }
}

/** The identity of a wrapped function: the `name` option, else `fn.name`; anonymous functions need `name`. */
export function resolveName(entry: string, fn: { readonly name: string }, name: unknown): string {
  if (name !== undefined) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new ConfigError('name', `${entry}: name must be a non-empty string, got ${String(name)}`)
    }
    return name
  }
  if (fn.name === '') {
    throw new ConfigError(
      'name',
      `${entry}: the function is anonymous, so its cache keys would not be stable across processes; pass a \`name\` option, e.g. { name: 'users.byId' }`,
    )
  }
  return fn.name
}
