import type { Bus, BusState } from './bus'
import { type BusMessage, busChannelFor } from './bus-protocol'
import { describe } from './describe'
import { type Duration, parseDuration } from './duration'
import { ConfigError } from './errors'
import { memoryInternals } from './memory'
import type { MemoryInternals } from './memory-slots'
import { rejectUnknownOptions, resolveHook } from './options'
import type { AnyStorage, AsyncStorage, Storage } from './storage'

/** Options of {@link tieredStorage}. */
export interface TieredStorageOptions {
  /**
   * The in-process tier: a `memoryStorage({ maxEntries })` of its own (its bound is the L1's bound). Used by this
   * tiered storage only: not by another tier, nor directly by a `cacheValue`. Required.
   */
  readonly l1: Storage
  /** The shared tier every replica reads: any storage (a sync one is used through promises). Required. */
  readonly l2: AnyStorage
  /**
   * Carries invalidations between replicas (`redisBus` from `@memokit/redis`, or {@link memoryBus} in one
   * process). Default: none; each replica's L1 then only ages out (`maxL1Age`).
   */
  readonly bus?: Bus
  /**
   * The longest an L1 copy is served after it was written to the L1, in ms or a duration string; the bound that
   * holds whatever the bus loses. Default: `'30s'` with a bus, `'5s'` without.
   */
  readonly maxL1Age?: Duration
  /** How often this replica publishes a heartbeat on the bus, in ms or a duration string. Default: `'1s'`. Needs `bus`. */
  readonly heartbeat?: Duration
  /**
   * How long this replica waits for its own heartbeat to come back before it treats the bus as down (and bypasses
   * its L1), in ms or a duration string; longer than `heartbeat`. Default: 3 × `heartbeat`. Needs `bus`.
   */
  readonly heartbeatTimeout?: Duration
  /**
   * The bus channel. Default: derived from the L2's `scope` (`'memokit:bus:<scope>'`), so tiers over different
   * places never hear each other; required when the L2 has no scope. Needs `bus`.
   */
  readonly channel?: string
  /**
   * Told what the tier does with its bus: state changes, L1 flushes, messages applied, and failures (unreadable
   * messages, failed publishes or subscriptions). Default: failures become a process warning, at most one per
   * tier every 10 s; the rest is not reported. A hook that throws is ignored.
   */
  readonly onEvent?: (event: TieredEvent) => void
}

/** Why a tier dropped every L1 entry written before now. */
export type TieredFlushReason = 'up' | 'gap' | 'new-sender' | 'heartbeat' | 'tags'

/** What {@link TieredStorageOptions.onEvent} hears. */
export type TieredEvent =
  /** The L1 is usable (`'up'`) or bypassed (`'down'`); `cause` says whether the transport or the heartbeat said so. */
  | { readonly type: 'state'; readonly state: BusState; readonly cause: 'transport' | 'heartbeat' }
  /** Every L1 entry written before this moment was dropped. */
  | { readonly type: 'flush'; readonly reason: TieredFlushReason }
  /** Another replica's message (or this replica's heartbeat) was applied. */
  | { readonly type: 'received'; readonly message: BusMessage }
  /** A payload of another protocol version, or no message at all, was ignored. */
  | { readonly type: 'unreadable'; readonly reason: 'version' | 'malformed'; readonly payload: string }
  /** A publish or a subscription failed; other replicas detect the lost message by its sequence gap. */
  | { readonly type: 'publish-failed' | 'subscribe-failed'; readonly error: unknown }

/** The options, checked once, in the units the tier works in. */
export interface ResolvedTiered {
  readonly l1: Storage
  readonly internals: MemoryInternals
  readonly l2: AsyncStorage
  readonly bus: Bus | undefined
  readonly maxL1Age: number
  readonly heartbeat: number
  readonly heartbeatTimeout: number
  readonly channel: string
  readonly onEvent: ((event: TieredEvent) => void) | undefined
}

const ENTRY = 'tieredStorage'
const OPTIONS = ['l1', 'l2', 'bus', 'maxL1Age', 'heartbeat', 'heartbeatTimeout', 'channel', 'onEvent'] as const
const STORAGE_MEMBERS = ['async', 'get', 'set', 'delete', 'clear'] as const
// An L1 holds the tier's own records; two tiers over one L1 would read each other's.
const claimedL1s = new WeakSet<object>()

/** Checks every option before anything is subscribed or claimed. */
export function resolveTiered(options: TieredStorageOptions): ResolvedTiered {
  rejectUnknownOptions(ENTRY, options, OPTIONS)
  const { l1, l2, bus } = options
  const internals = memoryInternals(l1)
  if (internals === undefined) {
    throw new ConfigError(
      'l1',
      `${ENTRY}: l1 must be a memoryStorage, got ${describe(l1)}; e.g. { l1: memoryStorage({ maxEntries: 10_000 }) }`,
    )
  }
  if (claimedL1s.has(l1)) {
    throw new ConfigError(
      'l1',
      `${ENTRY}: this l1 already serves another tieredStorage; give each tier its own memoryStorage()`,
    )
  }
  const missing = STORAGE_MEMBERS.filter(
    (m) => typeof (l2 as unknown as Record<string, unknown>)?.[m] !== (m === 'async' ? 'boolean' : 'function'),
  )
  if (l2 === null || typeof l2 !== 'object' || missing.length > 0 || (l2 as unknown) === l1) {
    throw new ConfigError(
      'l2',
      `${ENTRY}: l2 must be a memokit storage other than l1 (e.g. redisStorage({ client })), got ${describe(l2)}`,
    )
  }
  if (bus !== undefined && (bus === null || typeof bus.publish !== 'function' || typeof bus.subscribe !== 'function')) {
    throw new ConfigError(
      'bus',
      `${ENTRY}: bus must be a Bus (publish and subscribe), e.g. redisBus({ client }) or memoryBus(), got ${describe(bus)}`,
    )
  }
  if (bus === undefined) {
    for (const name of ['heartbeat', 'heartbeatTimeout', 'channel'] as const) {
      if (options[name] !== undefined)
        throw new ConfigError(name, `${ENTRY}: ${name} configures the bus; pass a bus too, or leave ${name} out`)
    }
  }
  const maxL1Age = parseDuration(options.maxL1Age ?? (bus === undefined ? '5s' : '30s'), 'maxL1Age')
  const heartbeat = parseDuration(options.heartbeat ?? '1s', 'heartbeat')
  const heartbeatTimeout =
    options.heartbeatTimeout === undefined ? 3 * heartbeat : parseDuration(options.heartbeatTimeout, 'heartbeatTimeout')
  if (heartbeatTimeout <= heartbeat) {
    throw new ConfigError(
      'heartbeatTimeout',
      `${ENTRY}: heartbeatTimeout (${heartbeatTimeout} ms) must be longer than heartbeat (${heartbeat} ms); e.g. 3 × heartbeat`,
    )
  }
  const channel = resolveChannel(options.channel, l2, bus)
  const onEvent = resolveHook<(event: TieredEvent) => void>(ENTRY, 'onEvent', options.onEvent)
  claimedL1s.add(l1)
  return { l1, internals, l2: asAsync(l2), bus, maxL1Age, heartbeat, heartbeatTimeout, channel, onEvent }
}

function resolveChannel(channel: unknown, l2: AnyStorage, bus: Bus | undefined): string {
  if (channel !== undefined) {
    if (typeof channel !== 'string' || channel.length === 0) {
      throw new ConfigError('channel', `${ENTRY}: channel must be a non-empty string, got ${describe(channel)}`)
    }
    return channel
  }
  if (bus === undefined) return ''
  if (typeof l2.scope !== 'string') {
    throw new ConfigError(
      'channel',
      `${ENTRY}: the ${l2.name} l2 has no scope to name the bus channel after; pass a channel shared by every replica of this L2, e.g. { channel: 'memokit:users' }`,
    )
  }
  return busChannelFor(l2.scope)
}

/** A sync storage seen through promises (its throws become rejections); an async one as it is. */
function asAsync(storage: AnyStorage): AsyncStorage {
  if (storage.async) return storage
  const s = storage
  const run = <T>(op: () => T): Promise<T> => {
    try {
      return Promise.resolve(op())
    } catch (error) {
      return Promise.reject(error)
    }
  }
  return {
    async: true,
    name: s.name,
    ...(s.scope === undefined ? {} : { scope: s.scope }),
    get: (ns, key) => run(() => s.get(ns, key)),
    set: (ns, key, value, o) => run(() => s.set(ns, key, value, o)),
    ...(s.add === undefined
      ? {}
      : {
          add: (ns: string, key: string, value: unknown, o?: object) =>
            run(() => (s.add as NonNullable<Storage['add']>)(ns, key, value, o)),
        }),
    ...(s.getMany === undefined
      ? {}
      : {
          getMany: (ns: string, keys: readonly string[]) =>
            run(() => (s.getMany as NonNullable<Storage['getMany']>)(ns, keys)),
        }),
    delete: (ns, key) => run(() => s.delete(ns, key)),
    clear: (ns, prefix) => run(() => s.clear(ns, prefix)),
  }
}
