import { expect, jest } from '@jest/globals'
import { type CacheValueOptions, cacheValue, KeyError, type Storage } from '@memokit/core'
import { createKeyEncoder, type KeyEncoderOptions } from '../src/keys'
import { buildArgs, ENCODER_SETS, KEY_FNS, type Scenario, type WrapperConfig } from './differential-model'

/*
 * The reference of the differential tests: a plain Map from (namespace, key) to what was stored, in least recently
 * used order, with the key computed by a key encoder of its own. `runScenario` replays a scenario against cached
 * functions over a real storage and the reference side by side, and checks every result: which value a call
 * returns (each computation returns a number no other computation returns), whether fn ran, and what `.delete`
 * answers. A read path that consults another table than the writes fill returns a wrong value or recomputes.
 */

interface ModelEntry {
  readonly value: unknown
  readonly expiresAt: number | undefined
  /** Written from a Promise: hits return a Promise in every wrapper. */
  readonly promised: boolean
  readonly ns: string
  /** The writing function's name: `.clear()` drops the entries of its name in its namespace. */
  readonly name: string
  /** What the size bound counts (0 without one). */
  readonly size: number
}

/** A size bound: at most `maxSize` in total of what `sizeOf` says of each value. */
export interface SizeBound {
  readonly maxSize: number
  readonly sizeOf: (value: unknown) => number
}

export class ReferenceCache {
  // Map order is the LRU order: the first entry is the least recently used.
  private readonly entries = new Map<string, ModelEntry>()
  constructor(
    private readonly capacity: number,
    private readonly bound: SizeBound | undefined = undefined,
    private readonly stats: Stats | undefined = undefined,
  ) {}

  private total(): number {
    let total = 0
    for (const e of this.entries.values()) total += e.size
    return total
  }

  private live(id: string, now: number): ModelEntry | undefined {
    const e = this.entries.get(id)
    if (e === undefined) return undefined
    if (e.expiresAt !== undefined && e.expiresAt <= now) {
      this.entries.delete(id)
      return undefined
    }
    return e
  }
  read(ns: string, key: string, now: number): ModelEntry | undefined {
    const id = JSON.stringify([ns, key])
    const e = this.live(id, now)
    if (e !== undefined) {
      this.entries.delete(id)
      this.entries.set(id, e)
    }
    return e
  }
  write(key: string, entry: Omit<ModelEntry, 'expiresAt' | 'size'>, ttl: number | undefined, now: number): void {
    const id = JSON.stringify([entry.ns, key])
    // An overwrite is a delete and a new entry; a value larger than the whole bound is not kept at all.
    this.entries.delete(id)
    const size = this.bound === undefined ? 0 : this.bound.sizeOf(entry.value)
    if (this.bound !== undefined && size > this.bound.maxSize) {
      if (this.stats) this.stats.tooLarge++
      return
    }
    const maxSize = this.bound?.maxSize ?? Number.POSITIVE_INFINITY
    // The least recently used go first, until both bounds hold with the new entry.
    while (this.entries.size >= this.capacity || this.total() + size > maxSize) {
      if (this.stats && this.entries.size < this.capacity) this.stats.sizeEvictions++
      this.entries.delete(this.entries.keys().next().value as string)
    }
    this.entries.set(id, { ...entry, size, expiresAt: ttl === undefined ? undefined : now + ttl })
  }
  remove(ns: string, key: string, now: number): boolean {
    const id = JSON.stringify([ns, key])
    return this.live(id, now) !== undefined && this.entries.delete(id)
  }
  clear(ns: string, name: string): void {
    for (const [id, e] of this.entries) if (e.ns === ns && e.name === name) this.entries.delete(id)
  }
}

/** How often each kind of call hit, to check that a run exercised the fast paths at all. */
export interface Stats {
  calls: number
  hits: number
  /** One-number argument lists of wrappers with the plain key encoding (the number table). */
  numberHits: number
  /** Fresh copies of structured arguments, plain encoding without type encoders (the by-value scan). */
  byValueHits: number
  keyErrors: number
  /** Hits of a sync function on an entry an async one wrote: the Promise's result, flagged in its slot. */
  promisedHits: number
  /** Entries the size bound evicted (the entry count bound would not have), and values too large to keep. */
  sizeEvictions: number
  tooLarge: number
}
export const newStats = (): Stats => ({
  calls: 0,
  hits: 0,
  numberHits: 0,
  byValueHits: 0,
  keyErrors: 0,
  promisedHits: 0,
  sizeEvictions: 0,
  tooLarge: 0,
})

interface Outcome {
  readonly value?: unknown
  readonly error?: unknown
  readonly promise: boolean
}
async function outcome(f: () => unknown): Promise<Outcome> {
  let r: unknown
  try {
    r = f()
  } catch (error) {
    return { error, promise: false }
  }
  const promise = r instanceof Promise
  try {
    return { value: await r, promise }
  } catch (error) {
    return { error, promise }
  }
}

function keyOptions(c: WrapperConfig): Omit<KeyEncoderOptions, 'functionName'> {
  return {
    ...(c.encoders === undefined ? {} : { typeEncoders: ENCODER_SETS[c.encoders] }),
    ...(c.typed ? { typed: true } : {}),
    ...(c.keyFn === undefined ? {} : { key: KEY_FNS[c.keyFn] }),
    ...(c.ignoreArgs === undefined ? {} : { ignoreArgs: [c.ignoreArgs] }),
  }
}

const plainEncoding = (c: WrapperConfig) => !c.typed && c.keyFn === undefined && c.ignoreArgs === undefined

/**
 * Replays `s` over `storage` (namespaces `namespaces[0]` and `[1]`); `capacity` is the storage's LRU bound and
 * `bound` its size bound, if any.
 */
export async function runScenario(
  s: Scenario,
  storage: Storage,
  namespaces: readonly [string, string],
  capacity: number,
  stats: Stats,
  bound?: SizeBound,
): Promise<void> {
  const model = new ReferenceCache(capacity, bound, stats)
  let runs = 0
  let outside = 0
  const wrappers = s.wrappers.map((c) => {
    const ns = namespaces[c.ns]
    const encode = createKeyEncoder({ functionName: c.name, ...keyOptions(c) })
    const fn = c.asyncFn ? async (..._args: unknown[]) => ++runs : (..._args: unknown[]) => ++runs
    const options = { storage, namespace: ns, name: c.name, ...keyOptions(c), ...(c.ttl ? { ttl: c.ttl } : {}) }
    const cached = cacheValue(fn, options as CacheValueOptions)
    return { c, ns, encode, cached }
  })
  // One instance per list for calls that pass the same objects again.
  const same = s.pool.map((atoms) => buildArgs(atoms))

  for (const o of s.ops) {
    if (o.kind === 'time') {
      jest.advanceTimersByTime(o.ms)
      continue
    }
    const wr = wrappers[o.w % wrappers.length] as (typeof wrappers)[number]
    const { c, ns, encode, cached } = wr
    if (o.kind === 'clear') {
      await cached.clear()
      model.clear(ns, c.name)
      continue
    }
    const atoms = s.pool[o.i % s.pool.length] as readonly string[]
    const args = (fresh: boolean) => (fresh ? buildArgs(atoms) : (same[o.i % s.pool.length] as unknown[]))
    let key: string
    try {
      key = encode(args(true))
    } catch (error) {
      // The wrapper rejects these arguments the same way, before anything runs or is read.
      stats.keyErrors++
      const before = runs
      const out = await outcome(() => (o.kind === 'delete' ? cached.delete(...args(true)) : cached(...args(true))))
      expect(out.error).toBeInstanceOf(KeyError)
      expect((out.error as Error).message).toBe((error as Error).message)
      expect(runs).toBe(before)
      continue
    }
    expect(cached.keyFor(...args(true))).toBe(key)
    const now = Date.now()
    switch (o.kind) {
      case 'call':
      case 'repeat':
        for (let t = 0; t < (o.kind === 'call' ? 1 : o.times); t++) {
          const fresh = o.kind === 'repeat' || o.fresh
          const before = runs
          const out = await outcome(() => cached(...args(fresh)))
          const found = model.read(ns, key, now)
          stats.calls++
          if (found !== undefined) {
            stats.hits++
            if (found.promised && !c.asyncFn) stats.promisedHits++
            if (plainEncoding(c) && atoms.length === 1 && typeof args(false)[0] === 'number') stats.numberHits++
            if (plainEncoding(c) && c.encoders === undefined && fresh && args(false).some((a) => typeof a === 'object'))
              stats.byValueHits++
          }
          expect({ op: o, t, key, ...out, ran: runs - before }).toEqual({
            op: o,
            t,
            key,
            value: found === undefined ? before + 1 : found.value,
            promise: c.asyncFn || found?.promised === true,
            ran: found === undefined ? 1 : 0,
          })
          if (found === undefined) model.write(key, { value: runs, promised: c.asyncFn, ns, name: c.name }, c.ttl, now)
        }
        break
      case 'burst': {
        // Concurrent calls of one key: one computation (or one hit) for all of them.
        const before = runs
        const outs = await Promise.all(Array.from({ length: o.times }, () => outcome(() => cached(...args(true)))))
        if (!c.asyncFn) {
          // A sync function's calls run one after another, each finding what the one before stored (or did not
          // store: a value too large for the size bound).
          let ran = 0
          const expected = outs.map(() => {
            const found = model.read(ns, key, now)
            if (found !== undefined) return found.value
            ran++
            model.write(key, { value: before + ran, promised: false, ns, name: c.name }, c.ttl, now)
            return before + ran
          })
          expect({ op: o, key, values: outs.map((x) => x.value), ran: runs - before }).toEqual({
            op: o,
            key,
            values: expected,
            ran,
          })
          break
        }
        const found = model.read(ns, key, now)
        const value = found === undefined ? before + 1 : found.value
        expect({ op: o, key, values: outs.map((x) => x.value), ran: runs - before }).toEqual({
          op: o,
          key,
          values: outs.map(() => value),
          ran: found === undefined ? 1 : 0,
        })
        if (found === undefined) model.write(key, { value: runs, promised: c.asyncFn, ns, name: c.name }, c.ttl, now)
        break
      }
      case 'refresh': {
        const before = runs
        const out = await outcome(() => cached.refresh(...args(true)))
        expect({ op: o, key, value: out.value, ran: runs - before }).toEqual({ op: o, key, value: before + 1, ran: 1 })
        model.write(key, { value: runs, promised: c.asyncFn, ns, name: c.name }, c.ttl, now)
        break
      }
      case 'delete':
        expect({ op: o, key, deleted: await cached.delete(...args(true)) }).toEqual({
          op: o,
          key,
          deleted: model.remove(ns, key, now),
        })
        break
      case 'setOutside':
        // Another writer of the same storage: fast paths must see it.
        outside--
        storage.set(ns, key, outside)
        model.write(key, { value: outside, promised: false, ns, name: c.name }, undefined, now)
        break
      case 'deleteOutside':
        expect({ op: o, key, deleted: storage.delete(ns, key) }).toEqual({
          op: o,
          key,
          deleted: model.remove(ns, key, now),
        })
        break
    }
  }
}

/** Fake time for one run; the storages read Date.now for expiry. */
export async function withFakeTime<T>(f: () => Promise<T>): Promise<T> {
  jest.useFakeTimers({ now: 1_700_000_000_000 })
  try {
    return await f()
  } finally {
    jest.useRealTimers()
  }
}
