/**
 * Core's invalidation protocol, carried as opaque strings by any {@link Bus} transport. Every transport shares it,
 * so a lost message (a gap in a sender's sequence numbers) or a silent subscriber (its own heartbeats stop coming
 * back) is detected the same way on all of them.
 *
 * A message is a JSON array, short on the wire and cheap to parse: `[version, sender, seq, kind, ...fields]`.
 * Messages never carry values, only what to drop, so a receiver always re-reads the shared tier.
 */

/** The protocol version this build speaks; a receiver ignores (and reports) any other. */
export const BUS_PROTOCOL_VERSION = 1

/** What a message asks receivers to drop from their in-process tier. */
export type BusInvalidation =
  /** These keys of the namespace were written (`op: 'set'`) or deleted (`op: 'delete'`). */
  | {
      readonly kind: 'keys'
      readonly op: 'set' | 'delete'
      readonly namespace: string
      readonly keys: readonly string[]
    }
  /** Every key of the namespace that starts with `prefix` (one function's entries). */
  | { readonly kind: 'prefix'; readonly namespace: string; readonly prefix: string }
  /** The whole namespace. */
  | { readonly kind: 'namespace'; readonly namespace: string }
  /** Entries carrying any of these tags (reserved for the tags feature; receivers today drop their whole tier). */
  | { readonly kind: 'tags'; readonly namespace: string; readonly tags: readonly string[] }
  /** Nothing to drop: proof of life, and a sequence number that reveals lost messages. */
  | { readonly kind: 'heartbeat' }

/** A decoded message: who sent it, its place in the sender's sequence, and what it invalidates. */
export type BusMessage = BusInvalidation & {
  /** The sender's id, random per tiered storage instance. */
  readonly sender: string
  /** The sender's sequence number: 1 for its first message, then +1 per message, heartbeats included. */
  readonly seq: number
}

/** Why a payload was not understood: another protocol version, or not a message at all. */
export interface UnreadableMessage {
  readonly unreadable: 'version' | 'malformed'
  /** The version the payload claims, when it claims one. */
  readonly version?: unknown
}

const KINDS = { keys: 'k', prefix: 'p', namespace: 'n', tags: 't', heartbeat: 'h' } as const

/** Encodes `invalidation` from `sender` at `seq` for {@link Bus.publish}, without building a message object. */
export function encodeBusPayload(sender: string, seq: number, invalidation: BusInvalidation): string {
  const kind = KINDS[invalidation.kind]
  switch (invalidation.kind) {
    case 'keys': {
      const op = invalidation.op === 'set' ? 's' : 'd'
      return JSON.stringify([BUS_PROTOCOL_VERSION, sender, seq, kind, invalidation.namespace, op, invalidation.keys])
    }
    case 'prefix':
      return JSON.stringify([BUS_PROTOCOL_VERSION, sender, seq, kind, invalidation.namespace, invalidation.prefix])
    case 'namespace':
      return JSON.stringify([BUS_PROTOCOL_VERSION, sender, seq, kind, invalidation.namespace])
    case 'tags':
      return JSON.stringify([BUS_PROTOCOL_VERSION, sender, seq, kind, invalidation.namespace, invalidation.tags])
    case 'heartbeat':
      return JSON.stringify([BUS_PROTOCOL_VERSION, sender, seq, kind])
  }
}

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string')

/** Decodes a payload; never throws: anything it can't read comes back as an {@link UnreadableMessage}. */
export function decodeBusMessage(payload: string): BusMessage | UnreadableMessage {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch {
    return { unreadable: 'malformed' }
  }
  if (!Array.isArray(parsed)) return { unreadable: 'malformed' }
  const [version, sender, seq, kind, namespace, a, b] = parsed as unknown[]
  if (version !== BUS_PROTOCOL_VERSION) return { unreadable: 'version', version }
  if (typeof sender !== 'string' || !Number.isSafeInteger(seq) || (seq as number) < 1)
    return { unreadable: 'malformed' }
  // Literals, not `{ ...from, kind }`: on Node 20 a spread followed by more properties takes about 1 us (V8's slow
  // path), and every replica decodes every message.
  const n = seq as number
  if (kind === 'h') return { kind: 'heartbeat', sender, seq: n }
  if (typeof namespace !== 'string') return { unreadable: 'malformed' }
  if (kind === 'n') return { kind: 'namespace', namespace, sender, seq: n }
  if (kind === 'p' && typeof a === 'string') return { kind: 'prefix', namespace, prefix: a, sender, seq: n }
  if (kind === 't' && isStrings(a)) return { kind: 'tags', namespace, tags: a, sender, seq: n }
  if (kind === 'k' && (a === 's' || a === 'd') && isStrings(b)) {
    return { kind: 'keys', op: a === 's' ? 'set' : 'delete', namespace, keys: b, sender, seq: n }
  }
  return { unreadable: 'malformed' }
}

/**
 * The default channel of a shared tier, derived from the L2's `scope`: tiers over different places never hear each
 * other. The version stays out of the name on purpose: replicas of two versions share the channel, so each reports
 * the other's messages instead of missing them silently.
 */
export function busChannelFor(scope: string): string {
  return `memokit:bus:${scope}`
}
