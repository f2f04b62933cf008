import {
  type AnyTransformer,
  bytesTransformer,
  invalidDateTransformer,
  sparseArrayTransformer,
  unsafeKeysTransformer,
} from './codec-builtins'
import { checkPayload, decodeEntryPayload, encodeEntryPayload } from './codec-entry'
import { errorClassTransformer, errorTransformer } from './codec-errors'
import { checkClass, checkTransformer, RESERVED_PREFIX } from './codec-register'
import { createValueCodec } from './codec-superjson'
import { ConfigError } from './errors'
import type { Entry } from './storage'

/**
 * A custom type for a codec: how to recognise it and turn it into and back from JSON data.
 *
 * @example
 * codec.register<Temperature, number>({
 *   name: 'Temperature',
 *   isApplicable: (v): v is Temperature => v instanceof Temperature,
 *   serialize: (t) => t.celsius,
 *   deserialize: (c) => new Temperature(c),
 * })
 */
export interface CodecTransformer<T = unknown, J = unknown> {
  /**
   * A unique name, stored in payloads: renaming it makes old payloads unreadable (they read as misses).
   * Names starting with `memokit:` are reserved.
   */
  readonly name: string
  /** True for values this transformer handles. Called for many values while encoding: keep it cheap. */
  readonly isApplicable: (value: unknown) => value is T
  /**
   * Turns the value into plain JSON data (null, booleans, strings, finite numbers, arrays, plain objects).
   * Encoding throws a CodecError if it returns anything else.
   */
  readonly serialize: (value: T) => J
  /** Rebuilds the value from what `serialize` returned. Throw if the data is not what `serialize` makes. */
  readonly deserialize: (data: J) => T
}

/**
 * The value codec used by storages that hold strings (Redis, memcached, files, MongoDB).
 *
 * Supported values: JSON data plus `undefined` (also inside arrays and as a property value, which is kept),
 * NaN, ±Infinity, -0, BigInt, Date (also invalid ones), RegExp (source and flags), Map, Set, URL, the built-in
 * Error classes (class, name, message, stack, cause and own enumerable properties such as `code`), Buffer,
 * ArrayBuffer, DataView and every typed array (bytes in platform order, i.e. little-endian), sparse arrays (in
 * time proportional to their elements, whatever their `length`), objects with keys like `__proto__`, and any class
 * or type added with {@link Codec.registerClass} / {@link Codec.register}.
 *
 * A value that occurs in several places (the same object, Date or class instance, or equal BigInts) is stored
 * once per place and comes back as equal copies: deep-equal, in the same iteration order (Map, Set and key order),
 * but `decoded.a === decoded.b` no longer holds. A cycle (a value that contains itself) makes `encode` throw a
 * CodecError naming the path, and so does a value whose shared parts, written as copies, would add more than
 * 1,000,000 values (a graph built to share, such as a tree whose every level holds the level below twice).
 * Anything else (instances of unregistered classes, Error subclasses included, subclasses of Map, Set, Date,
 * RegExp, URL, Array and the typed arrays, Promises, functions, symbols) makes `encode` throw a CodecError naming it
 * and where it is: nothing is silently stored as `{}` or as its base class. As with JSON, symbol-keyed and
 * non-enumerable properties and extra properties on arrays are not stored, nor are properties added to a Date,
 * Map, Set, RegExp (its `lastIndex` included), URL or typed array; null-prototype objects come back as plain
 * objects.
 *
 * ## Payload format (version 1)
 * Every payload is a string. Its first character tags the format and its version; value payloads end with `;`
 * so a truncated payload (even a truncated top-level number) is detected:
 * - `j<JSON>;` plain JSON, written when the value has nothing to annotate; decoded with one `JSON.parse`.
 * - `s<JSON>;` a superjson envelope `{"json":…,"meta":{"values":…,"v":1}}` for everything else. It never holds
 *   superjson's `referentialEqualities`: one that does was written by an earlier memokit, whose references could
 *   decode to a wrong value, and is rejected as corrupt (a miss, then rewritten).
 * - `e<createdAt>,<expiresAt>,<value payload>` a whole {@link Entry} without metadata: the two times are ms since
 *   the epoch written as JS numbers (`expiresAt` empty when the entry never expires), then a `j` or `s` payload.
 * - `m<createdAt>,<expiresAt>,<length>,<meta JSON><value payload>` an Entry with `meta`: `<length>` is the length
 *   of the meta JSON, which is written in ASCII (other characters as `\uXXXX`), so it counts characters and bytes
 *   alike. Only entries with `meta` use it: others keep the `e` layout, which older readers read; an older reader
 *   takes an `m` payload for an unknown format (a miss).
 * - `p<createdAt>,<expiresAt>,<value payload>` an Entry whose `meta` is exactly `{ promise: true }` (what core
 *   stores for an async function's result without a timeline): the `m` layout without its 19 bytes of meta. Written
 *   since 0.2; `m` payloads with that meta, written before, still decode. A reader older than 0.2 takes a `p`
 *   payload for an unknown format (a miss, then rewritten).
 *
 * ## Version policy
 * A payload layout never changes under an existing tag: a new layout (or a superjson `meta.v` other than 1, or a
 * renamed built-in type) gets a new tag, and decoders keep reading the older tags for at least one major version.
 * Decoding a payload with an unknown tag, or a corrupt one (empty, truncated, not JSON, wrong shape, bad
 * header numbers), throws a {@link CodecError} (with the parse error as `cause` where there is one): storages let
 * it propagate from `get`, and core treats it as a miss and overwrites the entry.
 */
export interface Codec {
  /** Encodes a value into a string payload tagged with a format version. Throws a CodecError if it can't. */
  encode(value: unknown): string
  /**
   * Decodes a payload from `encode` (not one from `encodeEntry`).
   * Throws a CodecError for a corrupt payload or an unknown format version.
   */
  decode(payload: string): unknown
  /**
   * Encodes a whole entry (value, createdAt, expiresAt, and `meta` when given) into one string, so one read
   * returns all of it. `meta` must be a plain object of JSON values (strings, finite numbers, booleans, null,
   * arrays, plain objects; at most 65,536 characters of JSON and 32 levels deep); it is checked before the value.
   * Throws a CodecError if the value can't be encoded, a time is not a finite number (ms since the epoch), or
   * `meta` is not such an object.
   */
  encodeEntry(entry: Entry): string
  /**
   * Decodes a payload from `encodeEntry`. The entry has `meta`, an equal plain object, exactly when it was written
   * with one. Throws a CodecError for a corrupt payload or an unknown version.
   */
  decodeEntry(payload: string): Entry
  /**
   * Adds a custom type to this codec only (no global registry). Returns the codec for chaining.
   * The codec's own built-in types (bytes, sparse arrays, Errors, invalid Dates, objects with keys like
   * `__proto__`) take precedence over registered ones; a registered type takes precedence over the other built-ins
   * (Date, Map, Set, RegExp, URL), so keep `isApplicable` to your own type.
   * Throws a ConfigError for a malformed transformer or a name already used on this codec.
   */
  register<T, J>(transformer: CodecTransformer<T, J>): Codec
  /**
   * Adds a class to this codec only: its own enumerable properties are stored (values may be any supported type)
   * and decoding restores its prototype without calling the constructor (private `#fields` are not stored).
   * For Error subclasses, `message`, `stack` and `cause` are stored too.
   * `name` (default: the class's `name`) is stored in payloads; it must be unique on this codec and stable across
   * deployments (set it explicitly if your build minifies class names). Throws a ConfigError otherwise, and for
   * a subclass of a built-in that keeps its contents outside properties (Map, Set, Date, Array, typed arrays...):
   * add such a class with {@link Codec.register}.
   */
  registerClass(cls: new (...args: never[]) => unknown, options?: { readonly name?: string }): Codec
}

/** Creates a codec with its own registry of custom types (nothing global is changed). */
export function createCodec(): Codec {
  const values = createValueCodec()
  const customNames = new Set<string>()
  const classNames = new Set<string>()
  const errorClasses = new Set<unknown>()
  const addCustom = (t: AnyTransformer, jsonOnly: boolean): void => {
    values.addCustom(t, jsonOnly)
    customNames.add(t.name)
  }
  // Order matters: superjson uses the first applicable one.
  for (const t of [
    bytesTransformer,
    sparseArrayTransformer,
    errorTransformer(errorClasses),
    invalidDateTransformer,
    unsafeKeysTransformer,
  ]) {
    addCustom(t, false)
  }

  const codec: Codec = {
    encode: values.encodeValue,
    decode(payload) {
      checkPayload(payload)
      return values.decodeValue(payload, 0)
    },
    encodeEntry: (entry) => encodeEntryPayload(entry, values.encodeValue),
    decodeEntry: (payload) => decodeEntryPayload(payload, values.decodeValue),
    register(transformer) {
      checkTransformer(transformer, customNames)
      const { name, isApplicable, serialize, deserialize } = transformer
      addCustom({ name, isApplicable, serialize, deserialize }, true)
      return codec
    },
    registerClass(cls, options) {
      const name = checkClass(cls, options, classNames)
      if (errorClasses.has(cls) || values.hasClass(cls)) {
        throw new ConfigError(
          'class',
          `codec.registerClass(): ${cls.name || name} is already registered on this codec.`,
        )
      }
      if (cls.prototype instanceof Error) {
        errorClasses.add(cls)
        addCustom(errorClassTransformer(cls, `${RESERVED_PREFIX}error-class:${name}`), false)
      } else {
        values.addClass(cls, name)
      }
      classNames.add(name)
      return codec
    },
  }
  return codec
}

/**
 * For storage backends: the `codec` option, validated. `undefined` gives a new {@link createCodec}() codec;
 * anything that lacks a Codec's `encode`, `decode`, `encodeEntry` or `decodeEntry` is a ConfigError naming
 * `owner` (the backend's factory, e.g. `'redisStorage'`).
 */
export function resolveCodec(codec: unknown, owner: string): Codec {
  if (codec === undefined) return createCodec()
  const c = codec as Partial<Codec> | null
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.encode !== 'function' ||
    typeof c.decode !== 'function' ||
    typeof c.encodeEntry !== 'function' ||
    typeof c.decodeEntry !== 'function'
  ) {
    throw new ConfigError(
      'codec',
      `${owner}: codec must be a Codec from createCodec() (it needs encode, decode, encodeEntry and decodeEntry), got ${c === null ? 'null' : typeof c}`,
    )
  }
  return c as Codec
}
