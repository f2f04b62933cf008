import { describe } from './describe'
import { ConfigError } from './errors'
import type { Flight } from './flight'
import type { AnyStorage } from './storage'

/** What all wrappers sharing one (place, namespace, name) have in common. */
export interface Identity {
  fn: unknown
  readonly implicit: boolean
  readonly namespace: string
  /** In-flight computations by key, so concurrent callers of one key run the function once. */
  readonly pending: Map<string, Flight>
  /** Background refreshes by key: at most one per key. */
  readonly refreshing: Map<string, Flight>
  /**
   * Computations still running whose callers already have an answer (a stale value at the soft timeout, a
   * TimeoutError or stale value at the hard timeout): at most one per key, joined by later misses, each with
   * timeouts of its own (compute.ts). Never an invalidated one: nobody may be answered by a computation that a
   * delete, clear or `.refresh()` came after.
   */
  readonly abandoned: Map<string, Flight>
  /** Keys whose computation failed while a stale value was served: no new attempt before this time (ms). */
  readonly backoff: Map<string, number>
  /** The size of `backoff` past which `holdOff` (flight.ts) drops the keys whose time has passed. */
  backoffSweepAt: number
}

type Registry = Map<string, Identity>

/** The least size of an identity's `backoff` at which `holdOff` (flight.ts) sweeps it. */
export const BACKOFF_SWEEP_MIN = 256

/**
 * A table keyed on where a storage writes (`storage.scope`), so two storage objects on one server and prefix share
 * one value; a storage without a scope is its own place. `create`: make the value when there is none.
 */
function perPlace<T>(make: () => T): (storage: AnyStorage, create: boolean) => T | undefined {
  const byScope = new Map<string, T>()
  const byObject = new WeakMap<AnyStorage, T>()
  return (storage, create) => {
    const scope = storage.scope
    let value = typeof scope === 'string' ? byScope.get(scope) : byObject.get(storage)
    if (value === undefined && create) {
      value = make()
      if (typeof scope === 'string') byScope.set(scope, value)
      else byObject.set(storage, value)
    }
    return value
  }
}

const registryOf = perPlace<Registry>(() => new Map())

const sourceOf = (fn: unknown): string => Function.prototype.toString.call(fn)

/**
 * Registers a wrapped function's identity. Two different functions with the same IMPLICIT name in one place and
 * namespace would silently share results, so that is a ConfigError; an explicit `name` shares on purpose.
 */
export function claimIdentity(
  storage: AnyStorage,
  namespace: string,
  name: string,
  fn: (...args: never[]) => unknown,
  implicit: boolean,
): Identity {
  const registry = registryOf(storage, true) as Registry
  const id = JSON.stringify([namespace, name])
  const existing = registry.get(id)
  if (existing === undefined) {
    const identity: Identity = {
      fn,
      implicit,
      namespace,
      pending: new Map(),
      refreshing: new Map(),
      abandoned: new Map(),
      backoff: new Map(),
      backoffSweepAt: BACKOFF_SWEEP_MIN,
    }
    registry.set(id, identity)
    return identity
  }
  if (existing.fn !== fn && existing.implicit && implicit) {
    const where = storage.scope ?? `the same ${storage.name} storage`
    // Same source is not proof of same results: closures made by one factory (a wrapper per tenant) share it.
    const cause =
      sourceOf(existing.fn) === sourceOf(fn)
        ? 'they have the same source, so this is a module evaluated again (a reloader: Vite SSR, Next dev, a watch mode) or a wrapper created per call or per tenant'
        : 'they are different functions'
    throw new ConfigError(
      'name',
      `cacheValue: two function objects are both named '${name}' in namespace '${namespace}' on ${where} (${cause}), and an implicit name must not make them share cached results. Fixes: create the wrapper once, at module level, and reuse it (pass a tenant as an argument, or give each tenant its own namespace); or, for a reloader or functions that really compute the same thing, pass the same explicit \`name\` option, which shares entries on purpose.`,
    )
  }
  return existing
}

/**
 * Marks every computation of `namespace` (only those of `keys`, when given) invalidated, aborts its signal and
 * forgets it: its result still reaches its callers, but is never stored.
 */
export function invalidateFlights(storage: AnyStorage, namespace: string, keys?: readonly string[]): void {
  const registry = registryOf(storage, false)
  if (registry === undefined) return
  for (const identity of registry.values()) {
    if (identity.namespace === namespace) invalidateIdentity(identity, keys)
  }
}

/** Like {@link invalidateFlights}, for one function's computations. */
export function invalidateIdentity(identity: Identity, keys?: readonly string[]): void {
  const all = keys ?? new Set([...identity.pending.keys(), ...identity.refreshing.keys(), ...identity.abandoned.keys()])
  for (const key of all) dropFlights(identity, key, true)
  if (keys === undefined) identity.backoff.clear()
  else for (const key of keys) identity.backoff.delete(key)
}

/**
 * `.refresh()` of `key` (cache-value.ts): the computations of the key already running started before it, so their
 * results must not overwrite its own, and no call from now on may join them (not even one a timeout abandoned,
 * which later misses would otherwise join). They still answer the callers already waiting for them, so their
 * signals don't abort, as they do for a delete or clear.
 */
export function supersede(identity: Identity, key: string): void {
  dropFlights(identity, key, false)
}

function dropFlights(identity: Identity, key: string, abort: boolean): void {
  for (const flights of [identity.pending, identity.refreshing, identity.abandoned]) {
    const flight = flights.get(key)
    if (flight === undefined) continue
    flight.invalidated = true
    if (abort) flight.abort()
    flights.delete(key)
  }
}

// Namespaces of `@cached` methods over a storage, declared where the decorator is applied: their wrappers are made
// when the class's first instance is, and until then a clear of the namespace must not read as reaching nothing.
const declaredOf = perPlace<Set<string>>(() => new Set())

/** Records that a wrapper not made yet will use `namespace` in the place `storage` writes to. */
export function declareNamespace(storage: AnyStorage, namespace: string): void {
  declaredOf(storage, true)?.add(namespace)
}

/** The namespaces that wrappers in this process use (or, `@cached` ones, will use) in the place `storage` writes to. */
export function namespacesInUse(storage: AnyStorage): ReadonlySet<string> {
  const registry = registryOf(storage, false)
  const inUse = new Set(registry === undefined ? [] : [...registry.values()].map((identity) => identity.namespace))
  const declared = declaredOf(storage, false)
  if (declared !== undefined) for (const namespace of declared) inUse.add(namespace)
  return inUse
}

/** The identity of a wrapped function: the `name` option, else `fn.name`; anonymous functions need `name`. */
export function resolveName(entry: string, fn: { readonly name: string }, name: unknown): string {
  if (name !== undefined) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new ConfigError(
        'name',
        `${entry}: name must be a non-empty string, got ${describe(name)}; omit it for the function's own name`,
      )
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
