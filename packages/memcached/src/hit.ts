/**
 * A storage's read of one entry: `get`, and core's read-and-continue member (GET_THEN of `@memokit/core/backend`),
 * which hands the entry or the failure to core's callbacks inside the read's own promise. With a remembered
 * namespace version and a client whose `getMulti` can tell a reader (fromMemjs), the read is one multi-get of the
 * version key and the entry under the remembered version (the entry alone within versionCacheMs), settled by one
 * object and one promise: none of run's, withState's or a `then` per step (a hit paid seven promises). Like
 * run's operations, it counts in the storage's close gate (a counter, no closure): close() waits for it. Anything
 * else goes through the storage's general read (run + readEntry), and a version that changed continues as that
 * read would, under the same deadline. fast-path.property.test.ts and get-then.test.ts hold the two paths equal.
 */
import type { Entry } from '@memokit/core'
import { type Deadline, settleFailure, settleValue, soon } from '@memokit/core/backend'
import type { MemcachedClient } from './client'
import { type MultiReader, READ_MULTI, type ReadMulti } from './memjs-multi'
import type { Found, Reads } from './reads'
import type { Runner } from './run'
import { asText, type Remembered, type Versioned } from './versioned'

type OnEntry = (entry: Entry | undefined) => unknown
type OnError = (error: unknown) => unknown

/** `get` (without callbacks: the entry) and GET_THEN (with them: what they return). */
export type ReadEntry = (ns: string, key: string, onEntry?: OnEntry, onError?: OnError) => Promise<unknown>

/** What the hit needs from its storage. */
export interface HitDeps {
  readonly client: MemcachedClient
  readonly versioned: Versioned
  readonly reads: Reads
  readonly runner: Runner
  /** The stored bytes as a live entry, `undefined` when absent or expired; throws a CodecError when corrupt. */
  readonly decode: (raw: unknown) => Entry | undefined
}

interface Context extends HitDeps {
  readonly readMulti: ReadMulti
}

/** Whether the stored bytes `raw` are the text `text`, without decoding them when it is ASCII (a version is). */
function sameText(raw: unknown, text: string): boolean {
  if (typeof raw === 'string') return raw === text
  if (!(raw instanceof Uint8Array)) return false
  // UTF-8 never takes fewer bytes than UTF-16 code units, and exactly as many only for ASCII.
  if (raw.length !== text.length) return raw.length > text.length && asText(raw) === text
  for (let i = 0; i < raw.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x80) return asText(raw) === text
    if (raw[i] !== c) return false
  }
  return true
}

// One read in flight on the fast path: the reader the multi-get tells, and what settles the read's promise.
class Hit implements MultiReader {
  keys: readonly string[] = []
  mKey = ''
  expired = false
  deadline: Deadline | undefined
  readonly epoch: number

  constructor(
    readonly ctx: Context,
    readonly ns: string,
    readonly key: string,
    readonly known: Remembered,
    readonly trusted: boolean,
    readonly onEntry: OnEntry | undefined,
    readonly onFailure: OnError | undefined,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {
    this.epoch = ctx.versioned.epoch()
  }

  /** Sends the read; `false` (nothing sent, no deadline) when the client would read the keys one by one. */
  start(): boolean {
    const { ctx, known } = this
    this.mKey = ctx.versioned.entryKey(this.ns, known.state, this.key)
    this.keys = this.trusted ? [this.mKey] : [known.vKey, this.mKey]
    this.deadline = ctx.runner.deadlines.add(() => this.expire())
    // In flight for close() until it settles (each settling path counts it out once, after the read's promise).
    ctx.runner.enter()
    let sent: boolean
    try {
      sent = ctx.readMulti(this)
    } catch (error) {
      // Never a callback before GET_THEN has returned: core registers the read's flight after that.
      soon(() => this.onError(error))
      return true
    }
    if (!sent) {
      // The general read takes over, and counts itself.
      ctx.runner.deadlines.settle(this.deadline)
      ctx.runner.leave()
    }
    return sent
  }

  onValues(values: readonly unknown[]): void {
    const { ctx, known } = this
    if (this.trusted) {
      if (ctx.runner.deadlines.settle(this.deadline as Deadline)) this.entryFrom(values[0])
      return
    }
    // The usual hit: the version key still holds the version the entry was read under.
    if (sameText(values[0], known.state.raw)) {
      if (!ctx.runner.deadlines.settle(this.deadline as Deadline)) return
      ctx.versioned.confirm(this.ns, known.state, this.epoch)
      this.entryFrom(values[1])
      return
    }
    this.resume(values[0], values[1])
  }

  onError(error: unknown): void {
    if (this.ctx.runner.deadlines.settle(this.deadline as Deadline)) this.failWith(this.ctx.runner.fail('get', error))
  }

  // The version changed (or is gone): on as withState's combined read goes on, within this read's deadline.
  private resume(raw: unknown, entryRaw: unknown): void {
    const { ctx, ns, key, known } = this
    const call = ctx.runner.callWhile('get', () => this.expired)
    const speculative: Found = { mKey: this.mKey, state: known.state, raw: entryRaw }
    let rest: Found | Promise<Found | undefined> | undefined
    try {
      rest = ctx.versioned.resume(
        call,
        ns,
        known.vKey,
        this.epoch,
        known.state,
        raw,
        speculative,
        ctx.reads.entryUnder(call, ns, key),
      )
    } catch (error) {
      this.onError(error)
      return
    }
    Promise.resolve(rest).then(
      (found) => {
        if (ctx.runner.deadlines.settle(this.deadline as Deadline)) this.entryFrom(found?.raw)
      },
      (error: unknown) => this.onError(error),
    )
  }

  private expire(): void {
    this.expired = true
    this.failWith(this.ctx.runner.timedOut('get'))
  }

  // entryFrom and failWith settle the read (once: the caller won its deadline) and count it out of close()'s gate.
  private entryFrom(raw: unknown): void {
    let entry: Entry | undefined
    try {
      entry = this.ctx.decode(raw)
    } catch (error) {
      this.failWith(this.ctx.runner.fail('get', error))
      return
    }
    settleValue(entry, this.onEntry, this.resolve, this.reject)
    this.ctx.runner.leave()
  }

  private failWith(error: unknown): void {
    settleFailure(error, this.onFailure, this.resolve, this.reject)
    this.ctx.runner.leave()
  }
}

// A getMulti without READ_MULTI (fromMemcacheClient, your own adapter): its promise tells the reader.
const readThrough =
  (client: MemcachedClient, getMulti: NonNullable<MemcachedClient['getMulti']>): ReadMulti =>
  (reader) => {
    Promise.resolve(getMulti.call(client, reader.keys)).then(
      (values) => reader.onValues(values as (Buffer | undefined)[]),
      (error: unknown) => reader.onError(error),
    )
    return true
  }

/** The entry read of a storage: one function for `get` and for GET_THEN. */
export function createReadEntry(deps: HitDeps): ReadEntry {
  const { client, versioned, reads, runner, decode } = deps
  const decodeFound = (found: Found | undefined): Entry | undefined => decode(found?.raw)
  const general = (ns: string, key: string): Promise<Entry | undefined> =>
    runner.run('get', (call) => reads.readEntry(call, ns, key, 'get').then(decodeFound))
  const { getMulti } = client
  const ctx: Context | undefined =
    getMulti === undefined
      ? undefined
      : {
          ...deps,
          readMulti: (getMulti as { [READ_MULTI]?: ReadMulti })[READ_MULTI] ?? readThrough(client, getMulti),
        }

  const slow = (ns: string, key: string, onEntry?: OnEntry, onError?: OnError): Promise<unknown> =>
    onEntry === undefined ? general(ns, key) : general(ns, key).then(onEntry, onError)

  return (ns, key, onEntry, onError) => {
    const known = ctx === undefined ? undefined : versioned.known(ns)
    // Closed: the general read refuses it (runner.run) without a command.
    if (ctx === undefined || known === undefined || runner.isClosed()) return slow(ns, key, onEntry, onError)
    let sent = true
    const read = new Promise<unknown>((resolve, reject) => {
      sent = new Hit(ctx, ns, key, known, versioned.trusted(known), onEntry, onError, resolve, reject).start()
    })
    return sent ? read : slow(ns, key, onEntry, onError)
  }
}
