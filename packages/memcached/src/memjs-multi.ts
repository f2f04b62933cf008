/**
 * A multi-key `get` for memjs, which has none: one write of quiet GETKQ requests, one per key but the last, and a
 * GETK for the last (memcached's binary-protocol multi-get, ended by a request that always answers instead of a
 * NOOP). memcached answers only the quiet keys it holds, then the last key, hit or miss, all in the order of the
 * requests, so the reply to a read of the namespace version and the entry (versioned.ts) describes the version first
 * and the entry after it, as two sequential GETs would. The requests go through memjs's own per-server queue
 * (`server(key)`, `onResponse`, `onError`, `write`), the way memjs sends its own multi-reply `stats`, so they share
 * its connection, its request timeout and the order of its other requests.
 */

import { soon } from '@memokit/core/backend'
import type { MemjsResponseLike } from './memjs-cas'

/** A memjs server connection (memjs 1.x `Server`), as memjs's own commands use it. */
export interface MemjsServerLike {
  onResponse(
    seq: number,
    handler: ((response: MemjsResponseLike & { key: Buffer }) => void) & { quiet?: boolean },
  ): void
  onError(seq: number, handler: (error: Error) => void): void
  write(request: Uint8Array): void
}

/** The part of a memjs `Client` the multi-get uses. */
export interface MemjsMultiLike {
  readonly seq: number
  incrSeq(): void
  /** The server a key goes to; `null` when none is available. */
  server(key: string): MemjsServerLike | null | undefined
  readonly servers?: readonly unknown[]
}

const MAGIC_REQUEST = 0x80
const GETK = 0x0c
const GETKQ = 0x0d
const HEADER_BYTES = 24
const OK = 0
const KEY_NOT_FOUND = 1

/** Whether `client` has what {@link memjsGetMulti} needs (memjs 1.x does). */
export function canGetMulti(client: object): client is MemjsMultiLike {
  const c = client as Partial<MemjsMultiLike>
  return typeof c.server === 'function' && typeof c.incrSeq === 'function' && typeof c.seq === 'number'
}

// GETKQ for every key but the last, GETK for the last, all carrying `seq`. One buffer from Node's pool (allocUnsafe:
// no ArrayBuffer of its own), every byte written, the unused header fields (extras length, data type, vbucket, CAS)
// as zeros. This runs once per sequential hit: Buffer#writeUInt32BE (a checked call per field), a second byteLength
// per key and an ending NOOP (24 more bytes to write, one more reply for memjs to parse) cost 7.9k instructions per
// hit, 14% of the raw memjs read's (callgrind, bench/HISTORY.md).
const lengths: number[] = []
function requests(keys: readonly string[], seq: number): Buffer {
  let size = 0
  for (let i = 0; i < keys.length; i++) {
    const length = Buffer.byteLength(keys[i] as string, 'utf8')
    // The header has 16 bits for it (memcached itself takes 250 bytes): refused here, as memjs refuses it.
    if (length > 0xffff) throw new RangeError(`memjs get: a key of ${length} bytes does not fit a request`)
    lengths[i] = length
    size += HEADER_BYTES + length
  }
  const buf = Buffer.allocUnsafe(size)
  let at = 0
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    const length = lengths[i] as number
    buf[at] = MAGIC_REQUEST
    buf[at + 1] = i === keys.length - 1 ? GETK : GETKQ
    buf[at + 2] = length >>> 8
    buf[at + 3] = length & 0xff
    // Extras length, data type, vbucket; then the total body length (the key alone) as 32 bits.
    for (let j = 4; j < 10; j++) buf[at + j] = 0
    buf[at + 10] = length >>> 8
    buf[at + 11] = length & 0xff
    buf[at + 12] = seq >>> 24
    buf[at + 13] = (seq >>> 16) & 0xff
    buf[at + 14] = (seq >>> 8) & 0xff
    buf[at + 15] = seq & 0xff
    for (let j = 16; j < HEADER_BYTES; j++) buf[at + j] = 0
    at += HEADER_BYTES
    // An ASCII key (byte length = length in code units, the usual case) is written as Latin-1: the same bytes, without
    // the UTF-8 encoder.
    buf.write(key, at, length, length === key.length ? 'latin1' : 'utf8')
    at += length
  }
  return buf
}

/**
 * A reader of several keys in one round trip, told the values in the order of its `keys` (`undefined` for absent
 * ones) or the failure, never both and never before the read's promise (or caller) has returned: replies arrive
 * in a later tick. The storage's hit is one (hit.ts): no promise or closure of its own for the read.
 */
export interface MultiReader {
  readonly keys: readonly string[]
  onValues(values: (Buffer | undefined)[]): void
  onError(error: unknown): void
}

/**
 * A hidden member of an adapter's `getMulti` function (fromMemjs): reads `reader.keys` as `getMulti` would and
 * tells `reader` instead of settling a promise; `false`, with nothing sent, when `getMulti` would have to read the
 * keys one by one. It sits on the function, so a `getMulti` replaced by the user's own is never bypassed.
 */
export const READ_MULTI: unique symbol = Symbol('memokit.memcached.readMulti') as never

/** The type of {@link READ_MULTI}. */
export type ReadMulti = (reader: MultiReader) => boolean

/**
 * The multi-gets of one tick for one server: written together, each key once. A lone reader's keys are the
 * batch's keys, not copied (every sequential hit); `seen` and a copy of the keys are made only when a second
 * reader joins.
 */
interface Batch {
  keys: readonly string[]
  seen: Set<string> | undefined
  readonly readers: MultiReader[]
}

const batches = new WeakMap<MemjsServerLike, Batch>()

// The reply's values in the order of `batch.keys`. memcached answers in the order of the requests and skips the
// absent keys, so each reply's key is looked for from where the previous one was found.
function collector(keys: readonly string[]): {
  values: (Buffer | undefined)[]
  found(key: Buffer, value: Buffer): void
} {
  const values: (Buffer | undefined)[] = new Array(keys.length).fill(undefined)
  let next = 0
  return {
    values,
    found(key, value) {
      const text = key.toString('utf8')
      for (let i = next; i < keys.length; i++) {
        if (keys[i] === text) {
          values[i] = value
          next = i + 1
          return
        }
      }
    },
  }
}

const statusError = (status: number | undefined): Error =>
  new Error(`memjs get: the server answered status ${String(status)}`)

// Each reader's values: a lone reader's keys are the batch's keys; otherwise by position of each key.
function answer(batch: Batch, values: (Buffer | undefined)[]): void {
  const { readers, keys } = batch
  if (readers.length === 1) {
    ;(readers[0] as MultiReader).onValues(values)
    return
  }
  const at = new Map<string, number>()
  for (let i = 0; i < keys.length; i++) at.set(keys[i] as string, i)
  for (const reader of readers) reader.onValues(reader.keys.map((key) => values[at.get(key) as number]))
}

// A socket write costs more than the rest of a hit (a syscall, and waking memcached): the multi-gets started in one
// tick go out as one write at its end, each distinct key once (16 hits in flight read their namespace version
// once). Every key is read after anything written to this server before the flush. A key another reader asked for
// first may be read before a version key that comes earlier in this reader's list: harmless, since a speculative
// entry only counts when the version read equals the one it was read under, and a replaced version never returns
// (a fresh random token), so that version was current at both reads.
function flush(client: MemjsMultiLike, server: MemjsServerLike, batch: Batch): void {
  batches.delete(server)
  client.incrSeq()
  const seq = client.seq
  const collected = collector(batch.keys)
  let failure: Error | undefined
  const fail = (error: unknown): void => {
    for (const reader of batch.readers) reader.onError(error)
  }
  const last = batch.keys.length - 1
  const handler = (response: MemjsResponseLike & { key: Buffer }): void => {
    const { status, opcode } = response.header
    if (opcode === GETK) {
      // The last key's reply, hit or miss, ends the read. memjs reads `quiet` after calling the handler: clearing
      // it here makes memjs drop the handler with this reply (get-many.test.ts checks that memjs still does).
      handler.quiet = false
      if (status === OK) collected.values[last] = response.val
      else if (status !== KEY_NOT_FOUND) failure ??= statusError(status)
      if (failure !== undefined) fail(failure)
      else answer(batch, collected.values)
    } else if (status === OK) collected.found(response.key, response.val)
    else if (status !== KEY_NOT_FOUND) failure ??= statusError(status)
  }
  // Quiet while replies to GETKQ may come: memjs keeps the handler for every reply with a body. A lone key has no
  // quiet reply, so memjs drops the handler with its one reply without the flag being cleared.
  handler.quiet = last > 0
  server.onResponse(seq, handler)
  server.onError(seq, fail)
  // A Buffer is a Uint8Array; the cast only bridges two copies of Node's typings (memjs's and ours).
  server.write(requests(batch.keys, seq) as unknown as Uint8Array)
}

/**
 * Reads `reader.keys` in one round trip and tells `reader` (always in a later tick); `false`, with nothing sent,
 * when the keys go to more than one server (the caller then reads them one by one). memjs's `retries` do not
 * apply: a connection error fails the read at once.
 */
export function memjsReadMulti(client: MemjsMultiLike, reader: MultiReader): boolean {
  const { keys } = reader
  const server = client.server(keys[0] as string)
  if (server === null || server === undefined) {
    soon(() => reader.onError(new Error('No servers available')))
    return true
  }
  if ((client.servers?.length ?? 1) > 1 && keys.some((key) => client.server(key) !== server)) return false
  const batch = batches.get(server)
  if (batch === undefined) {
    // The first reads of the tick: their keys as they are (a repeated key is just read twice).
    const created: Batch = { keys, seen: undefined, readers: [reader] }
    batches.set(server, created)
    soon(() => flush(client, server, created))
    return true
  }
  if (batch.seen === undefined) {
    batch.seen = new Set(batch.keys)
    batch.keys = [...batch.keys]
  }
  for (const key of keys) {
    if (batch.seen.has(key)) continue
    batch.seen.add(key)
    ;(batch.keys as string[]).push(key)
  }
  batch.readers.push(reader)
  return true
}

/**
 * The values of `keys` in their order (`undefined` for absent ones) in one round trip, or `undefined` when the
 * keys go to more than one server (the caller then reads them one by one).
 */
export function memjsGetMulti(
  client: MemjsMultiLike,
  keys: readonly string[],
): Promise<(Buffer | undefined)[]> | undefined {
  let reader: MultiReader | undefined
  const values = new Promise<(Buffer | undefined)[]>((resolve, reject) => {
    // A copy: the caller may change its array before the tick's write.
    reader = { keys: [...keys], onValues: resolve, onError: reject }
  })
  return memjsReadMulti(client, reader as MultiReader) ? values : undefined
}
