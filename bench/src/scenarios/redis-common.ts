// What R1 and S5's Redis part share: the value, the contender shape, reachability and cleanup.
import { createClient } from 'redis'
import type { Versus } from '../harness'

/** Hot keys per contender: 0..255. */
export const HOT = 256
export const TTL_MS = 120_000

export interface Value {
  readonly id: number
  readonly [field: string]: unknown
}

// About 1 KB of JSON, the same shape for every contender.
const TEMPLATE = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'editor', 'viewer'],
  settings: { theme: 'dark', locale: 'en-GB', notifications: { email: true, sms: false, push: true } },
  tags: Array.from({ length: 12 }, (_, i) => `tag-${i}`),
  bio: 'x'.repeat(620),
  createdAt: '2024-01-01T00:00:00.000Z',
}
export const valueFor = (id: number): Value => ({ id, ...TEMPLATE })
export const fetchValue = async (id: number): Promise<Value> => valueFor(id)

export interface Instance {
  readonly call: (k: number) => Promise<Value>
  readonly close: () => Promise<void>
  /** Called once the hot keys are filled, before the check and the timing (the stale row holds its refreshes). */
  readonly ready?: () => Promise<void>
}

export interface RedisContender {
  readonly name: string
  readonly note: string
  /** Target ratio for the 64-in-flight hit mode. */
  readonly target?: number
  /** Compared with another row in every mode (memokit against its before build). */
  readonly versus?: Versus
  /** The timed modes this row takes part in; default all. */
  readonly modes?: readonly Mode[]
  /** Sets up one instance over its own connection; `load` is the function being cached (default: `fetchValue`). */
  readonly make: (url: string, load?: (k: number) => Promise<Value>) => Promise<Instance>
}

/** R1's timed modes: hits with 64 calls in flight, hits one at a time, misses. */
export type Mode = 'hit64' | 'hit1' | 'miss'

export async function reachable(url: string): Promise<string | undefined> {
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    if (client.isOpen) client.destroy()
  }
}

/** Deletes this run's keys (and only them): SCAN MATCH on the run's unique prefix. */
export async function cleanup(url: string, prefix: string): Promise<number> {
  const client = await createClient({ url }).connect()
  let removed = 0
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) removed += await client.unlink(keys)
    }
  } finally {
    client.destroy()
  }
  return removed
}
