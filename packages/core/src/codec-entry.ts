/*
 * Entry payloads: the header (times, and metadata when there is some) in front of a value payload, and the
 * checks every payload gets before it is decoded. The layouts are documented on the Codec interface (codec.ts).
 */
import { formatPath, isJsonNumber, isObject, isPlainObjectLike, nameValue, type PathPart } from './codec-json'
import { CodecError } from './errors'
import type { Entry, EntryMeta } from './storage'

export const TAG_ENTRY = 101 // 'e'
export const TAG_ENTRY_META = 109 // 'm'
export const TAG_ENTRY_PROMISE = 112 // 'p'

/** Characters of JSON the metadata of one entry may take (it is read with every hit). */
export const MAX_META_LENGTH = 65_536
// Metadata is a few flags and times; a deeper value is a mistake, or contains itself.
const MAX_META_DEPTH = 32
// The JSON header is written in ASCII, so its length is the same in characters and in bytes.
const NON_ASCII = /[\u007f-\uffff]/g
const META_JSON_VALUES = 'strings, finite numbers, booleans, null, arrays and plain objects'
// The metadata of every async function's entry without a timeline (core's PROMISE_META), so of most remote hits.
const PROMISE_META_JSON = '{"promise":true}'

export function corrupt(why: string, cause?: unknown): CodecError {
  return new CodecError(`Corrupt codec payload: ${why}.`, cause === undefined ? undefined : { cause })
}

export function checkPayload(payload: unknown): asserts payload is string {
  if (typeof payload !== 'string') throw corrupt(`expected a string, got ${nameValue(payload)}`)
  if (payload.length === 0) throw corrupt('empty string')
}

export function unknownTag(payload: string, at: number): CodecError {
  return new CodecError(
    `Unknown codec payload format ${JSON.stringify(payload.charAt(at))}: written by a newer memokit, or not by this ` +
      'codec at all.',
  )
}

/**
 * An entry's payload: `e<createdAt>,<expiresAt>,<value payload>`, with metadata
 * `m<createdAt>,<expiresAt>,<meta length>,<meta JSON><value payload>`, and with exactly `{ promise: true }` (every
 * async function's entry without a timeline) `p<createdAt>,<expiresAt>,<value payload>`.
 */
export function encodeEntryPayload(entry: Entry, encodeValue: (value: unknown) => string): string {
  if (!isObject(entry)) throw new CodecError(`Cannot encode entry: expected an object, got ${nameValue(entry)}.`)
  const { value, createdAt, expiresAt, meta } = entry
  checkTime(createdAt, 'createdAt')
  if (expiresAt !== undefined) checkTime(expiresAt, 'expiresAt')
  const head = `${createdAt},${expiresAt ?? ''},`
  if (meta === undefined) return `e${head}${encodeValue(value)}`
  if (isPromiseFlag(meta)) return `p${head}${encodeValue(value)}`
  // Checked before the value is encoded: bad metadata is the caller's bug, found without side effects.
  const metaText = encodeMeta(meta)
  return `m${head}${metaText.length},${metaText}${encodeValue(value)}`
}

/** Decodes an entry payload; `decodeValue` reads the value payload that starts at `start`. */
export function decodeEntryPayload(payload: string, decodeValue: (payload: string, start: number) => unknown): Entry {
  checkPayload(payload)
  const tag = payload.charCodeAt(0)
  if (tag !== TAG_ENTRY && tag !== TAG_ENTRY_META && tag !== TAG_ENTRY_PROMISE) throw unknownTag(payload, 0)
  const first = payload.indexOf(',', 1)
  const second = first < 0 ? -1 : payload.indexOf(',', first + 1)
  if (second < 0) throw corrupt('truncated entry header')
  const createdAt = parseTime(payload, 1, first, 'createdAt')
  const expiresAt = second === first + 1 ? undefined : parseTime(payload, first + 1, second, 'expiresAt')
  if (tag === TAG_ENTRY) return { value: decodeValue(payload, second + 1), createdAt, expiresAt }
  // A new object each time, as the `m` layout's JSON.parse would return.
  if (tag === TAG_ENTRY_PROMISE)
    return { value: decodeValue(payload, second + 1), createdAt, expiresAt, meta: { promise: true } }
  const { meta, end } = decodeMeta(payload, second + 1)
  return { value: decodeValue(payload, end), createdAt, expiresAt, meta }
}

/**
 * Whether `meta` is exactly `{ promise: true }`, which the `p` layout stores as its tag alone: 19 bytes fewer per
 * entry than its JSON in the `m` layout (a Redis reply of 64 ~1 KB hits then fits libuv's 64 KiB read, bench R1).
 */
function isPromiseFlag(meta: unknown): boolean {
  return (
    isObject(meta) &&
    (meta as EntryMeta).promise === true &&
    !Array.isArray(meta) &&
    isPlainObjectLike(meta) &&
    Object.keys(meta).length === 1
  )
}

function checkTime(time: unknown, field: string): asserts time is number {
  if (typeof time !== 'number' || !Number.isFinite(time)) {
    throw new CodecError(
      `Cannot encode entry: ${field} must be a finite number of ms since the epoch, got ` +
        `${typeof time === 'number' ? time : nameValue(time)}.`,
    )
  }
}

/** Parses a header time written by `String(number)`; anything not in that exact form is corrupt. */
function parseTime(payload: string, from: number, to: number, field: string): number {
  // Common case without allocating: an integer of up to 15 digits (every ms timestamp), no leading zero.
  let i = from
  const negative = payload.charCodeAt(i) === 45 // '-'
  if (negative) i++
  if (i < to && to - i <= 15 && (payload.charCodeAt(i) !== 48 || to - i === 1)) {
    let time = 0
    for (; i < to; i++) {
      const digit = payload.charCodeAt(i) - 48
      if (digit < 0 || digit > 9) break
      time = time * 10 + digit
    }
    if (i === to && !(negative && time === 0)) return negative ? -time : time
  }
  // Fractions and exponents: accept exactly what String(number) writes.
  const text = payload.slice(from, to)
  const time = Number(text)
  if (text === '' || !Number.isFinite(time) || String(time) !== text) {
    throw corrupt(`${field} ${JSON.stringify(text.slice(0, 40))} is not a number`)
  }
  return time
}

function encodeMeta(meta: unknown): string {
  if (!isObject(meta) || Array.isArray(meta) || !isPlainObjectLike(meta)) {
    throw new CodecError(
      `Cannot encode entry: meta must be a plain object of JSON values (${META_JSON_VALUES}), got ${nameValue(meta)}.`,
    )
  }
  checkMetaValue(meta, [], 0)
  const text = JSON.stringify(meta).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  if (text.length > MAX_META_LENGTH) {
    throw new CodecError(
      `Cannot encode entry: meta is ${text.length.toLocaleString('en-US')} characters of JSON, more than the ` +
        `${MAX_META_LENGTH.toLocaleString('en-US')} allowed; keep it small (it is read with every hit).`,
    )
  }
  return text
}

function checkMetaValue(value: unknown, path: PathPart[], depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (isJsonNumber(value)) return
      throw badMeta(path, Object.is(value, -0) ? '-0' : String(value))
    case 'object': {
      if (value === null) return
      if (depth >= MAX_META_DEPTH) {
        throw badMeta(path, `nested deeper than ${MAX_META_DEPTH} levels (or contains itself)`)
      }
      if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype) {
        for (let i = 0; i < value.length; i++) {
          path.push(i)
          if (!(i in value)) throw badMeta(path, 'a hole')
          checkMetaValue(value[i], path, depth + 1)
          path.pop()
        }
        return
      }
      if (!isPlainObjectLike(value)) throw badMeta(path, nameValue(value))
      for (const key of Object.keys(value)) {
        path.push(key)
        checkMetaValue((value as Record<string, unknown>)[key], path, depth + 1)
        path.pop()
      }
      return
    }
    default:
      throw badMeta(path, nameValue(value))
  }
}

function badMeta(path: readonly PathPart[], what: string): CodecError {
  return new CodecError(
    `Cannot encode entry: ${formatPath(path, 'meta')} is ${what}; meta holds JSON values only (${META_JSON_VALUES}).`,
  )
}

/** Reads `<length>,<JSON>` from `start`; returns the metadata and where the value payload starts. */
function decodeMeta(payload: string, start: number): { meta: EntryMeta; end: number } {
  let length = 0
  let i = start
  for (; i < payload.length && i - start <= 5; i++) {
    const digit = payload.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) break
    length = length * 10 + digit
  }
  const digits = i - start
  if (payload.charCodeAt(i) !== 44 || digits === 0 || (digits > 1 && payload.charCodeAt(start) === 48)) {
    throw corrupt('bad meta length')
  }
  if (length < 2 || length > MAX_META_LENGTH) throw corrupt(`meta length ${length} out of range`)
  const end = i + 1 + length
  if (end > payload.length) throw corrupt('truncated meta')
  // Read without JSON.parse: on a Redis hit, parsing these 16 characters cost a quarter of parsing a 1 KB value.
  // A new object each time, as JSON.parse would return (codec.entry-meta.test.ts checks the two agree).
  if (length === PROMISE_META_JSON.length && payload.startsWith(PROMISE_META_JSON, i + 1)) {
    return { meta: { promise: true }, end }
  }
  let meta: unknown
  try {
    meta = JSON.parse(payload.slice(i + 1, end))
  } catch (error) {
    throw corrupt('meta is not JSON', error)
  }
  if (!isObject(meta) || Array.isArray(meta)) throw corrupt('meta is not an object')
  return { meta: meta as EntryMeta, end }
}
