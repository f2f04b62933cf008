/*
 * Value payloads: plain JSON on the fast path, and superjson for everything else, with the codec's own checks
 * around it (see codec-refs.ts for why superjson's reference tracking is switched off).
 */
import { SuperJSON } from 'superjson'
import type { AnyTransformer } from './codec-builtins'
import { corrupt, TAG_ENTRY, TAG_ENTRY_META, TAG_ENTRY_PROMISE, unknownTag } from './codec-entry'
import { assertJson, isObject, isPlainJson, nameValue } from './codec-json'
import { checkReferences, type Descent } from './codec-refs'
import { CodecError } from './errors'

const TAG_JSON = 106 // 'j'
const TAG_SUPERJSON = 115 // 's'
const END = 59 // ';'

const OLD_REFERENCES =
  'written by an earlier memokit that recorded shared references, which can decode to a wrong value; ' +
  'it reads as a miss and is rewritten'

type Envelope = { json: unknown; meta?: { values?: unknown; referentialEqualities?: unknown; v?: unknown } }

/** One codec's superjson instance and registry, and the value payloads made with them. */
export interface ValueCodec {
  /** A value payload: `j<JSON>;` or `s<superjson envelope>;`. Throws a CodecError if the value can't be stored. */
  encodeValue(value: unknown): string
  /** Decodes the value payload that starts at `start` and runs to the end of `payload`. */
  decodeValue(payload: string, start: number): unknown
  /** Adds a custom type. `jsonOnly`: the user's, documented to return plain JSON data; ours may return any value. */
  addCustom(transformer: AnyTransformer, jsonOnly: boolean): void
  /** Adds a class whose own enumerable properties are stored, under `name`. */
  addClass(cls: new (...args: never[]) => unknown, name: string): void
  /** True when `cls` was added with `addClass`. */
  hasClass(cls: unknown): boolean
}

/** A new superjson instance with an empty registry, wrapped in the codec's checks. */
export function createValueCodec(): ValueCodec {
  // No de-duplication: every place a value occurs gets its own copy (codec-refs.ts).
  const sj = new SuperJSON({ dedupe: false })
  // The custom types in the order superjson tries them: it keeps them in an object keyed by name and takes the
  // first applicable of Object.values(), so a copy kept the same way lists them alike, without its allocations.
  const customsByName: Record<string, AnyTransformer> = {}
  let customs: AnyTransformer[] = []
  const descent: Descent = {
    // superjson's own tests, in its own order: a registered class first, then custom types.
    isRegisteredClass: (value) =>
      sj.classRegistry.getIdentifier((value as { constructor: never }).constructor) !== undefined,
    isCustom(value) {
      for (let i = 0; i < customs.length; i++) if ((customs[i] as AnyTransformer).isApplicable(value)) return true
      return false
    },
  }

  /** superjson's envelope, without the places of repeated values (each holds a copy). Check references first. */
  const serialize = (value: unknown): Envelope => {
    const envelope = sj.serialize(value as never) as Envelope
    const meta = envelope.meta
    if (meta?.referentialEqualities !== undefined) {
      delete meta.referentialEqualities
      if (meta.values === undefined) delete envelope.meta
    }
    return envelope
  }

  const deserialize = (envelope: unknown): unknown => {
    if (!isObject(envelope) || Array.isArray(envelope)) throw new Error('not a superjson envelope')
    const meta = (envelope as Envelope).meta
    if (meta !== undefined) {
      if (!isObject(meta) || Array.isArray(meta) || meta.v !== 1) throw new Error('unknown superjson metadata version')
      if (meta.referentialEqualities !== undefined) throw new Error(OLD_REFERENCES)
    }
    // In place: the envelope was just parsed from the payload and belongs to no one else.
    return sj.deserialize(envelope as never, { inPlace: true })
  }

  // Custom values being encoded right now: one met again inside its own encoding is a cycle.
  const encoding = new Set<unknown>()

  // Each custom value's data is encoded by a pass of its own, so the outer pass sees plain JSON in its place: paths
  // into a custom value do not exist while superjson rebuilds the outer value.
  const addCustom = (t: AnyTransformer, jsonOnly: boolean): void => {
    const serializeData = (value: unknown): Envelope => {
      if (encoding.has(value)) {
        throw new CodecError(
          `Cannot encode a value that contains itself (a cycle) through ${nameValue(value)}. Cache an acyclic copy ` +
            '(for instance, replace the back-reference by an id).',
        )
      }
      encoding.add(value)
      try {
        const data = (t.serialize as (v: unknown) => unknown)(value)
        const plain = checkReferences(data, descent)
        if (jsonOnly && !plain) assertJson(data, [], t.name)
        return serialize(data)
      } finally {
        encoding.delete(value)
      }
    }
    const deserializeData = (data: unknown): unknown => (t.deserialize as (d: unknown) => unknown)(deserialize(data))
    customsByName[t.name] = t
    customs = Object.values(customsByName)
    sj.registerCustom(
      {
        isApplicable: t.isApplicable as never,
        serialize: serializeData as never,
        deserialize: deserializeData as never,
      },
      t.name,
    )
  }

  const encodeValue = (value: unknown): string => {
    try {
      if (isPlainJson(value)) return `j${JSON.stringify(value)};`
      // Cycles, values superjson would pass through unchanged, and sharing that would copy too much all throw here.
      if (checkReferences(value, descent)) return `j${JSON.stringify(value)};`
      return `s${JSON.stringify(serialize(value))};`
    } catch (error) {
      if (error instanceof CodecError) throw error
      // A throwing getter or custom transformer, for instance.
      throw new CodecError(`Cannot encode value: ${(error as Error)?.message ?? String(error)}`, { cause: error })
    }
  }

  const decodeSuperjson = (text: string): unknown => {
    let envelope: unknown
    try {
      envelope = JSON.parse(text)
    } catch (error) {
      throw corrupt('not JSON', error)
    }
    if (!isObject(envelope) || Array.isArray(envelope)) throw corrupt('not a superjson envelope')
    for (const key in envelope) if (key !== 'json' && key !== 'meta') throw corrupt('not a superjson envelope')
    try {
      return deserialize(envelope)
    } catch (error) {
      throw corrupt(`cannot rebuild the value (${(error as Error).message})`, error)
    }
  }

  const decodeValue = (payload: string, start: number): unknown => {
    const end = payload.length - 1
    const tag = payload.charCodeAt(start)
    if (tag !== TAG_JSON && tag !== TAG_SUPERJSON) {
      if (start === payload.length) throw corrupt('truncated')
      if (start === 0 && (tag === TAG_ENTRY || tag === TAG_ENTRY_META || tag === TAG_ENTRY_PROMISE)) {
        throw corrupt('an entry payload (read it with decodeEntry)')
      }
      throw unknownTag(payload, start)
    }
    if (end <= start + 1 || payload.charCodeAt(end) !== END) throw corrupt('truncated')
    if (tag === TAG_JSON) {
      try {
        return JSON.parse(payload.slice(start + 1, end))
      } catch (error) {
        throw corrupt('not JSON', error)
      }
    }
    return decodeSuperjson(payload.slice(start + 1, end))
  }

  return {
    encodeValue,
    decodeValue,
    addCustom,
    addClass: (cls, name) => sj.registerClass(cls as never, { identifier: name }),
    hasClass: (cls) => sj.classRegistry.getIdentifier(cls as never) !== undefined,
  }
}
