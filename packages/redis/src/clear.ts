// `clear`: walks the keyspace with SCAN MATCH and unlinks what it finds, on every node a clear must reach (the
// client, or every master of a cluster); never KEYS or FLUSHDB.
import { CodecError, type StorageOp } from '@memokit/core'
import type { ClearTarget } from './client'
import type { Connection } from './connection'
import { LEASE_MARK } from './lease-keys'
import type { WriteOrder } from './write-order'

// Keys per SCAN step and per UNLINK batch: big enough that a clear needs few round trips, small enough that
// one SCAN step stays well under a millisecond of server time.
const SCAN_COUNT = 1000
// Glob characters of Redis' MATCH, escaped so a namespace like `a*` matches only itself.
const GLOB_CHARS = /[*?[\]\\]/g

/**
 * A reply as text: a string, or a Buffer under a Buffer type mapping. Anything else (an array or a number from a
 * proxy or another server) is a CodecError: `String()` of an array joins its parts with ',', which could read as
 * a memokit payload of some other value.
 */
export function asString(reply: unknown): string {
  if (typeof reply === 'string') return reply
  if (Buffer.isBuffer(reply)) return reply.toString('utf8')
  throw new CodecError(
    `Corrupt codec payload: Redis answered ${Array.isArray(reply) ? 'an array' : typeof reply}, not a string.`,
  )
}

/** What `clear` needs from the storage that owns it. */
export interface ClearContext {
  readonly connection: Pick<Connection, 'run' | 'bounded'>
  /** The client's keyPrefix, which it adds to keys but neither to SCAN's pattern nor strips from SCAN's replies. */
  readonly clientPrefix: string
  /** Every node a clear must scan; called once the client is connected. */
  clearTargets(): Promise<readonly ClearTarget[]>
  /** The key of `key` in `namespace` as passed to the client (checked: throws a StorageError for a lone surrogate). */
  physicalKey(namespace: string, key: string, op: StorageOp): string
  /** Set for a client that may reorder commands: the clear then follows the writes it removes. */
  readonly order: WriteOrder | undefined
}

/** Builds `clear(namespace, keyPrefix?)` over one storage's connection and key layout. */
export function createClear(context: ClearContext): (namespace: string, keyPrefix?: string) => Promise<void> {
  const { connection, clientPrefix, clearTargets, physicalKey, order } = context
  const { run, bounded } = connection
  const clientPrefixBytes = Buffer.byteLength(clientPrefix)

  const scanAndUnlink = async (target: ClearTarget, pattern: string | Buffer): Promise<void> => {
    let cursor = '0'
    do {
      const reply = await bounded('clear', target.scan(cursor, pattern, SCAN_COUNT))
      cursor = asString(reply.cursor)
      if (reply.keys.length > 0) {
        // Keys come back with the client's keyPrefix, which the client adds again on UNLINK. As Buffers (the
        // clients scan for bytes), since a lease key is not valid UTF-8.
        const keys = reply.keys.map((k) =>
          Buffer.isBuffer(k) ? k.subarray(clientPrefixBytes) : asString(k).slice(clientPrefix.length),
        )
        await bounded('clear', target.unlink(keys))
      }
    } while (cursor !== '0')
  }

  // Every target at once; on a Cluster (several masters) twice. SCAN returns the keys that stay on its node for the
  // whole walk, and resharding moves keys between masters: one moving from a master whose cursor hasn't reached it
  // to one whose walk is past its place was missed on both, and its entry served after the clear. A key moves once
  // per migration, so the walk it didn't move during finds it.
  const walk = async (targets: readonly ClearTarget[], pattern: string | Buffer): Promise<void> => {
    for (let round = targets.length > 1 ? 2 : 1; round > 0; round--) {
      await Promise.all(targets.map((target) => scanAndUnlink(target, pattern)))
    }
  }

  return async (namespace, keyPrefix) => {
    const glob = `${(clientPrefix + physicalKey(namespace, keyPrefix ?? '', 'clear')).replace(GLOB_CHARS, '\\$&')}*`
    // The lease keys among those: no entry key holds the byte that follows an entry's key in its lease key.
    const leaseGlob = Buffer.from([...Buffer.from(glob), LEASE_MARK, ...Buffer.from('*')])
    await run('clear', async () => undefined, order?.afterNamespace(namespace, keyPrefix))
    const targets = await bounded('clear', clearTargets())
    // Two passes, leases first: a fenced write landing after the first pass finds no lease and stores nothing;
    // one that landed before left an entry that exists for the whole second pass, so SCAN returns it. (One pass
    // would miss an entry written behind the cursor whose lease the cursor had not reached yet.)
    await walk(targets, leaseGlob)
    await walk(targets, glob)
  }
}
