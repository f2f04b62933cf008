/**
 * Where a lease lives and what its file holds; pure, like layout.ts. A lease is the file `<entry file>.lease`
 * beside the entry (so `clear(namespace)`, which moves the namespace directory away, takes it along), and every
 * change to it happens under a lock file in `<prefix dir>/.lease-locks/`, outside the namespace directories, so
 * the lock stays put when a clear moves a namespace directory.
 */
import { join } from 'node:path'
import { type EntryPaths, keyFileName } from './layout'

/** The lock directory's name inside a prefix directory: never a namespace directory name (those start `e-`/`h-`). */
export const LEASE_LOCK_DIR = '.lease-locks'

/** The paths of one key's lease. */
export interface LeasePaths {
  /** `${entry file}.lease`: the lease, published by rename like an entry. */
  readonly lease: string
  /** `${prefixDir}/.lease-locks`. */
  readonly lockDir: string
  /** The key's lease lock: held (created exclusively) while the lease is read and changed. */
  readonly lock: string
}

export function leasePaths(p: EntryPaths, namespace: string, key: string): LeasePaths {
  const lockDir = join(p.prefixDir, LEASE_LOCK_DIR)
  return {
    lease: `${p.file}.lease`,
    lockDir,
    lock: join(lockDir, `${keyFileName(JSON.stringify([namespace, key]))}.lock`),
  }
}

/** A lease file's contents. */
export interface ParsedLease {
  readonly prefix: string
  readonly namespace: string
  readonly key: string
  readonly token: string
  /** Deadline, ms since the epoch (every process on one machine shares the clock). */
  readonly until: number
}

// A magic line, then one JSON line: [prefix, namespace, key, token, until].
const MAGIC = 'MKL1\n'

export const formatLease = (lease: ParsedLease): string =>
  `${MAGIC}${JSON.stringify([lease.prefix, lease.namespace, lease.key, lease.token, lease.until])}\n`

/** Parses a lease file; `undefined` when it is not one (leases are published whole, so only a foreign file). */
export function parseLease(text: string): ParsedLease | undefined {
  if (!text.startsWith(MAGIC)) return undefined
  let fields: unknown
  try {
    fields = JSON.parse(text.slice(MAGIC.length))
  } catch {
    return undefined
  }
  if (!Array.isArray(fields) || fields.length !== 5) return undefined
  const [prefix, namespace, key, token, until] = fields as unknown[]
  if (typeof prefix !== 'string' || typeof namespace !== 'string' || typeof key !== 'string') return undefined
  if (typeof token !== 'string' || typeof until !== 'number' || !Number.isFinite(until)) return undefined
  return { prefix, namespace, key, token, until }
}
