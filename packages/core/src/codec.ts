// PLACEHOLDER implementation: the codec helper replaces the body of this file (keep the exported API).
import { SuperJSON } from 'superjson'
import { CodecError } from './errors'
import type { Entry } from './storage'

/** A custom type for a codec: how to recognise it and turn it into and back from JSON-compatible data. */
export interface CodecTransformer<T = unknown, J = unknown> {
  /** A unique name, stored in payloads: renaming it makes old payloads unreadable (they read as misses). */
  readonly name: string
  /** True for values this transformer handles. */
  readonly isApplicable: (value: unknown) => value is T
  /** Turns the value into JSON-compatible data (which may itself contain codec-supported types). */
  readonly serialize: (value: T) => J
  /** Rebuilds the value from what `serialize` returned. */
  readonly deserialize: (data: J) => T
}

/** The value codec used by storages that hold strings (Redis, memcached, files, MongoDB). */
export interface Codec {
  /** Encodes a value into a string payload tagged with a format version. Throws a CodecError if it can't. */
  encode(value: unknown): string
  /** Decodes a payload from `encode`. Throws a CodecError for a corrupt payload or an unknown format version. */
  decode(payload: string): unknown
  /** Encodes a whole entry (value, createdAt, expiresAt) into one string, so one read returns all of it. */
  encodeEntry(entry: Entry): string
  /** Decodes a payload from `encodeEntry`. Throws a CodecError for a corrupt payload or an unknown version. */
  decodeEntry(payload: string): Entry
  /** Adds a custom type to this codec only (no global registry). Returns the codec for chaining. */
  register<T, J>(transformer: CodecTransformer<T, J>): Codec
  /** Adds a class whose own enumerable properties are stored and whose prototype is restored on decode. */
  registerClass(cls: new (...args: never[]) => unknown, options?: { readonly name?: string }): Codec
}

/** Creates a codec with its own registry of custom types (nothing global is changed). */
export function createCodec(): Codec {
  const sj = new SuperJSON()
  const codec: Codec = {
    encode(value) {
      return `1${JSON.stringify(sj.serialize(value))}`
    },
    decode(payload) {
      if (payload[0] !== '1') throw new CodecError('unknown payload version')
      try {
        return sj.deserialize(JSON.parse(payload.slice(1)))
      } catch (error) {
        throw new CodecError('corrupt payload', { cause: error })
      }
    },
    encodeEntry(entry) {
      return codec.encode({ v: entry.value, c: entry.createdAt, e: entry.expiresAt ?? null })
    },
    decodeEntry(payload) {
      const raw = codec.decode(payload) as { v: unknown; c: number; e: number | null }
      return { value: raw.v, createdAt: raw.c, expiresAt: raw.e ?? undefined }
    },
    register(t) {
      sj.registerCustom(
        { isApplicable: t.isApplicable, serialize: t.serialize as never, deserialize: t.deserialize as never },
        t.name,
      )
      return codec
    },
    registerClass(cls, options) {
      sj.registerClass(cls as never, options?.name)
      return codec
    },
  }
  return codec
}
