/**
 * The source of truth: one integer version per hot key, in a Redis the chaos step never touches (the machine's
 * shared server, under a prefix of this run). Workers' `fn` read it; the writer increments it.
 */
import { createClient } from 'redis'

/** A connection to the truth. */
export interface Truth {
  /** The current version of `key` (0 before its first update). */
  read(key: number): Promise<number>
  /** Makes version `current + 1` the truth of `key` and returns it. */
  bump(key: number): Promise<number>
  /** Removes this run's keys (never anything else on the shared server). */
  drop(keys: number): Promise<void>
  close(): Promise<void>
}

/** Connects to the truth at `url`; every key of the run lives under `prefix`. */
export async function openTruth(url: string, prefix: string): Promise<Truth> {
  const client = createClient({ url })
  // A failing truth is a harness failure (the calls would fail too): surfaced by the operations, not this event.
  client.on('error', () => {})
  await client.connect()
  const name = (key: number) => `${prefix}:v:${key}`
  return {
    async read(key) {
      return Number((await client.get(name(key))) ?? 0)
    },
    bump: (key) => client.incr(name(key)),
    async drop(keys) {
      await client.del(Array.from({ length: keys }, (_, key) => name(key)))
    },
    async close() {
      await client.close()
    },
  }
}
