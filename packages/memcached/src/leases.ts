/**
 * The lease members on memcached, for clients with `gets` and `cas`. A lease is a key of its own beside the entry
 * (`<prefix>:<ns>:<version>~lease:<key>`, see versioned.ts), so a `clear` moves it out of reach with the entries and
 * `delete` removes it. Its value is `<expiry ms>:<token>`; memcached's exptime (whole seconds, rounded up) only
 * frees the memory: the ms expiry in the value decides. A released lease becomes `0:` (expired) for a second.
 *
 * `acquireLease` is `add` (atomic), or a `cas` over a lapsed or released lease (atomic: only one `cas` of a given
 * CAS unique succeeds). `releaseLease` and `extendLease` are `gets` then `cas`. `setIfLeased` can't be atomic: the
 * entry and the lease are two keys, and memcached has no multi-key transaction. It checks the lease (`gets`),
 * writes the entry (`set`), then ends the lease with a `cas` of what it checked; when that `cas` fails (a
 * `delete`, `clear` or take-over came in between), it deletes the entry it wrote and answers `false`. So a
 * fenced-out write is visible for at most that window (about two round trips) before it is removed: best-effort.
 */
import type { AsyncStorage, SetOptions, StorageOp } from '@memokit/core'
import { checkLeaseToken, checkLeaseTtl } from '@memokit/core/backend'
import type { MemcachedClient } from './client'
import type { Call, Order, Run } from './run'
import { toExptime } from './ttl'
import { asText, type Versioned } from './versioned'

type LeaseClient = MemcachedClient & Required<Pick<MemcachedClient, 'gets' | 'cas'>>
type Held = { readonly value: string | Buffer; readonly cas: string }

// A released lease: expired at once, kept (and freed by memcached) for a second.
const RELEASED = '0:'
const RELEASED_EXPTIME_S = 1
// memcached counts relative exptimes from its own clock, which ticks once a second and lags real time by up to
// one: an item can leave up to a second before `exptime` seconds have passed. An entry leaving early is a miss; a
// lease leaving early would let a second holder in, so a lease's key lives a second longer than its ms expiry.
const CLOCK_SLACK_MS = 1_000
// `cas` attempts: of the holder against its own concurrent calls (an extension changes the CAS unique), and of an
// acquire whose `cas` met a change (a released lease expiring under it).
const CAS_ROUNDS = 3

/** What the lease members need from their storage. */
export interface LeaseDeps {
  readonly client: MemcachedClient
  readonly versioned: Versioned
  readonly run: Run
  /**
   * The order of a write of `key`: tracked until the client answered every command it sent (a delete or clear waits
   * for it), and, when `follows`, sent after the key's writes already issued.
   */
  readonly writeOrder: (ns: string, key: string, follows: boolean) => Order
  /** The entry as `set` writes it: payload and exptime. */
  readonly encode: (value: unknown, options: SetOptions | undefined) => { payload: string; exptime: number }
}

/** The four lease members, or `undefined` when the client lacks `gets` or `cas`. */
export function leaseMembers(deps: LeaseDeps): Pick<Required<AsyncStorage>, LeaseMember> | undefined {
  const { client, versioned, run, writeOrder, encode } = deps
  if (typeof client.gets !== 'function' || typeof client.cas !== 'function') return undefined
  const c = client as LeaseClient
  const gets = (call: Call, lKey: string) => call(() => c.gets(lKey))
  const heldBy = (held: Held | null | undefined, token: string): held is Held => {
    if (held === null || held === undefined) return false
    const lease = parseLease(asText(held.value))
    return lease !== undefined && lease.token === token && lease.expiresAt > Date.now()
  }

  // Replaces the lease with `next()` while it is live and holds `token`; `true` when it did.
  const whileHeld = async (call: Call, lKey: string, token: string, next: () => [string, number]): Promise<boolean> => {
    for (let round = 0; round < CAS_ROUNDS; round++) {
      const held = await gets(call, lKey)
      if (!heldBy(held, token)) return false
      const [value, exptime] = next()
      if (await call(() => c.cas(lKey, value, exptime, held.cas))) return true
    }
    return false
  }

  // Runs `body` with the lease key (and entry key) under the namespace's current version, as a tracked write. Each
  // member is tracked until answered: a lease `add` or an entry `set` that timed out for its caller may still be on
  // its way (memcache-client with maxConnections above 1), and must not land after the delete or clear issued next.
  // Only setIfLeased also follows the key's earlier writes: its entry `set` is a plain one, which a held older set
  // would overwrite. The others write the lease key by `add` (only onto an absent key) or `cas` (only over the state
  // they read), so a late one can't undo a newer write; making them wait would also hold a holder's extension behind
  // its own fenced write.
  const onLease = async (
    op: StorageOp,
    ns: string,
    key: string,
    token: string,
    mode: 'read' | 'write',
    body: (call: Call, lKey: string, mKey: string) => Promise<boolean>,
    valueBytes?: number,
  ): Promise<boolean> => {
    checkLeaseToken('memcached', token)
    return run(
      op,
      async (call) => {
        const done = await versioned.withState(
          call,
          ns,
          mode,
          (state) => body(call, versioned.leaseKey(ns, state, key), versioned.entryKey(ns, state, key)),
          undefined,
          key,
        )
        return done === true
      },
      valueBytes,
      writeOrder(ns, key, op === 'setIfLeased'),
    )
  }

  return {
    async acquireLease(ns, key, token, ttl) {
      checkLeaseTtl('memcached', ttl)
      return onLease('acquireLease', ns, key, token, 'write', async (call, lKey) => {
        const now = Date.now()
        const value = leaseValue(now + ttl, token)
        const exptime = toExptime(ttl + CLOCK_SLACK_MS, now)
        // A failed cas says only that the key changed since the gets, not that someone holds it: a released lease
        // (`0:`, kept by memcached until its next clock tick) may have just expired. So go round again; a live
        // lease someone took meanwhile shows at the next gets. Answering `false` there left the key computed,
        // unstored, by a caller that believed another held it.
        for (let round = 0; round < CAS_ROUNDS; round++) {
          if (await call(() => c.add(lKey, value, exptime))) return true
          const held = await gets(call, lKey)
          // Gone since the add (memcached expired or a delete removed it): the next add decides.
          if (held === null || held === undefined) continue
          const lease = parseLease(asText(held.value))
          if (lease !== undefined && lease.expiresAt > Date.now()) return false
          // Lapsed (memcached keeps it up to a second longer), released, or not a lease: take it over only as read.
          if (await call(() => c.cas(lKey, value, exptime, held.cas))) return true
        }
        return false
      })
    },

    async releaseLease(ns, key, token) {
      return onLease('releaseLease', ns, key, token, 'read', (call, lKey) =>
        whileHeld(call, lKey, token, () => [RELEASED, RELEASED_EXPTIME_S]),
      )
    },

    async extendLease(ns, key, token, ttl) {
      checkLeaseTtl('memcached', ttl)
      return onLease('extendLease', ns, key, token, 'read', (call, lKey) =>
        whileHeld(call, lKey, token, () => {
          const now = Date.now()
          return [leaseValue(now + ttl, token), toExptime(ttl + CLOCK_SLACK_MS, now)]
        }),
      )
    },

    async setIfLeased(ns, key, value, token, options) {
      const { payload, exptime } = encode(value, options)
      return onLease(
        'setIfLeased',
        ns,
        key,
        token,
        'read',
        async (call, lKey, mKey) => {
          let held = await gets(call, lKey)
          if (!heldBy(held, token)) return false
          await call(() => c.set(mKey, payload, exptime))
          for (let round = 0; round < CAS_ROUNDS; round++) {
            const checked: Held = held
            if (await call(() => c.cas(lKey, RELEASED, RELEASED_EXPTIME_S, checked.cas))) return true
            // Changed since the check: by this holder's own extension (then end it again), or the lease was removed
            // or taken over, and the write just made must not stand.
            held = await gets(call, lKey)
            if (!heldBy(held, token)) break
          }
          await call(() => c.delete(mKey))
          return false
        },
        Buffer.byteLength(payload),
      )
    },
  }
}

type LeaseMember = 'acquireLease' | 'releaseLease' | 'extendLease' | 'setIfLeased'

const leaseValue = (expiresAt: number, token: string): string => `${expiresAt}:${token}`

/** A lease value's expiry (ms) and token; `undefined` for anything else (then it counts as no lease). */
function parseLease(text: string): { expiresAt: number; token: string } | undefined {
  const colon = text.indexOf(':')
  if (colon <= 0) return undefined
  const expiresAt = Number(text.slice(0, colon))
  return Number.isFinite(expiresAt) ? { expiresAt, token: text.slice(colon + 1) } : undefined
}
