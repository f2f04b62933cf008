import fc from 'fast-check'

/*
 * Shared by the key encoder's and the argument scan's property tests.
 *
 * The reference semantics the key encoder documents, written independently of it: two argument lists share a key
 * exactly when they are structurally equal under these rules.
 */
type Kind = 'primitive' | 'array' | 'plain' | 'date' | 'map' | 'set' | 'bytes' | 'typed' | 'other'

export function kindOf(v: unknown): Kind {
  if (typeof v !== 'object' || v === null) return 'primitive'
  const proto = Object.getPrototypeOf(v)
  if (proto === Array.prototype) return 'array'
  if (proto === Object.prototype || proto === null) return 'plain'
  if (v instanceof Date) return 'date'
  if (v instanceof Map) return 'map'
  if (v instanceof Set) return 'set'
  if (v instanceof ArrayBuffer || v instanceof DataView) return 'bytes'
  if (ArrayBuffer.isView(v)) return 'typed'
  return 'other'
}

/** Typed-array or byte container name, with Buffer kept apart from Uint8Array. */
const viewName = (v: object) => (Buffer.isBuffer(v) ? 'Buffer' : Object.prototype.toString.call(v))

function sameMultiset<T>(a: readonly T[], b: readonly T[], eq: (x: T, y: T) => boolean): boolean {
  if (a.length !== b.length) return false
  const used = new Array<boolean>(b.length).fill(false)
  // Greedy matching is exact because structural equality is an equivalence relation.
  return a.every((x) => {
    const j = b.findIndex((y, k) => !used[k] && eq(x, y))
    if (j === -1) return false
    used[j] = true
    return true
  })
}

export function structEq(a: unknown, b: unknown, typed: boolean): boolean {
  const ka = kindOf(a)
  if (ka !== kindOf(b)) return false
  const eq = (x: unknown, y: unknown) => structEq(x, y, typed)
  switch (ka) {
    case 'primitive':
      return Object.is(a, b)
    case 'array': {
      const x = a as unknown[]
      const y = b as unknown[]
      if (x.length !== y.length) return false
      for (let i = 0; i < x.length; i++) {
        if (i in x !== i in y) return false
        if (i in x && !eq(x[i], y[i])) return false
      }
      return true
    }
    case 'plain': {
      if (typed && (Object.getPrototypeOf(a) === null) !== (Object.getPrototypeOf(b) === null)) return false
      const x = a as Record<string, unknown>
      const y = b as Record<string, unknown>
      const kx = Object.keys(x).sort()
      const ky = Object.keys(y).sort()
      return kx.length === ky.length && kx.every((k, i) => k === ky[i] && eq(x[k], y[k]))
    }
    case 'date':
      return Object.is((a as Date).getTime(), (b as Date).getTime())
    case 'map':
      return sameMultiset([...(a as Map<unknown, unknown>)], [...(b as Map<unknown, unknown>)], (x, y) =>
        eq(x[0], y[0]) ? eq(x[1], y[1]) : false,
      )
    case 'set':
      return sameMultiset([...(a as Set<unknown>)], [...(b as Set<unknown>)], eq)
    case 'bytes':
    case 'typed': {
      // Typed arrays too: equal bytes are equal values (in one process), and NaNs with other bits differ.
      const x = a as ArrayBufferView | ArrayBuffer
      const y = b as ArrayBufferView | ArrayBuffer
      if (viewName(x) !== viewName(y)) return false
      const bx = x instanceof ArrayBuffer ? Buffer.from(x) : Buffer.from(x.buffer, x.byteOffset, x.byteLength)
      const by = y instanceof ArrayBuffer ? Buffer.from(y) : Buffer.from(y.buffer, y.byteOffset, y.byteLength)
      return bx.toString('hex') === by.toString('hex')
    }
    default:
      return false
  }
}

/** An own, enumerable data property even for `__proto__`. */
export function objectFrom(entries: readonly (readonly [string, unknown])[], nullProto: boolean): object {
  const o = nullProto ? Object.create(null) : {}
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  return o
}

// Small domains on purpose: near-identical values are where encodings would collide.
export const primitive = fc.oneof(
  fc.constantFrom<unknown>(
    0,
    -0,
    1,
    -1,
    1.5,
    1e21,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    '',
    '0',
    '1',
    '-0',
    'a',
    'a,b',
    '"',
    '\\',
    ',',
    ':',
    ']',
    '}',
    '=>',
    '*',
    '_',
    '#',
    '~',
    '\u0000',
    '\n',
    '\ud800',
    '\udc00',
    '😀',
    'undefined',
    'null',
    'true',
    '1n',
    0n,
    1n,
    -1n,
    true,
    false,
    null,
    undefined,
  ),
  fc.integer({ min: -3, max: 3 }),
  fc.string({ maxLength: 3 }),
  fc.string({ unit: 'binary', maxLength: 3 }),
  fc.double(),
  fc.bigInt({ min: -3n, max: 3n }),
)
const propertyName = fc.oneof(
  fc.constantFrom('a', 'b', '', '0', '1', '__proto__', 'constructor', '"', 'a:b', 'a,b', 'toString'),
  fc.string({ maxLength: 2 }),
)
const bytes = fc.uint8Array({ maxLength: 3 })
const binary = fc.oneof(
  bytes.map((b) => Buffer.from(b)),
  bytes,
  bytes.map((b) => new Int8Array(b)),
  bytes.map((b) => new Uint8Array(b).buffer),
  bytes.map((b) => new DataView(new Uint8Array(b).buffer)),
  fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }).map((xs) => new Uint16Array(xs)),
  fc.array(fc.constantFrom(0, -0, 1, Number.NaN), { maxLength: 2 }).map((xs) => new Float64Array(xs)),
  // NaNs with other bits: the sign, and a payload.
  fc
    .array(fc.constantFrom(0x7ff8_0000_0000_0000n, 0xfff8_0000_0000_0000n, 0x7ff8_0000_0000_0001n, 0n), {
      maxLength: 2,
    })
    .map((xs) => new Float64Array(new BigUint64Array(xs).buffer)),
  fc.array(fc.constantFrom(0, 1), { maxLength: 2 }).map((xs) => new Float32Array(xs)),
  fc.array(fc.bigInt({ min: -1n, max: 1n }), { maxLength: 2 }).map((xs) => new BigInt64Array(xs)),
)
const date = fc.constantFrom(0, 1, -1, Number.NaN, 8.64e15).map((t) => new Date(t))

export const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    { arbitrary: primitive, weight: 6 },
    { arbitrary: date, weight: 1 },
    { arbitrary: binary, weight: 1 },
    { arbitrary: fc.array(tie('value'), { maxLength: 3 }), weight: 2 },
    { arbitrary: fc.sparseArray(tie('value'), { maxLength: 3 }), weight: 1 },
    {
      arbitrary: fc
        .tuple(
          fc.uniqueArray(fc.tuple(propertyName, tie('value')), { maxLength: 3, selector: (e) => e[0] }),
          fc.boolean(),
        )
        .map(([entries, nullProto]) => objectFrom(entries, nullProto)),
      weight: 2,
    },
    {
      arbitrary: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((es) => new Map(es)),
      weight: 1,
    },
    { arbitrary: fc.array(tie('value'), { maxLength: 3 }).map((xs) => new Set(xs)), weight: 1 },
  ),
}))
/** A tiny domain, so that many generated values are equal or differ in one small place. */
export const { tiny } = fc.letrec<{ tiny: unknown }>((tie) => ({
  tiny: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    { arbitrary: fc.constantFrom<unknown>(0, -0, 1, 0n, '', '0', undefined, null, Number.NaN, false), weight: 5 },
    { arbitrary: fc.array(tie('tiny'), { maxLength: 2 }), weight: 2 },
    { arbitrary: fc.sparseArray(tie('tiny'), { maxLength: 2 }), weight: 1 },
    {
      arbitrary: fc
        .tuple(
          fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b'), tie('tiny')), { maxLength: 2, selector: (e) => e[0] }),
          fc.boolean(),
        )
        .map(([entries, nullProto]) => objectFrom(entries, nullProto)),
      weight: 2,
    },
    { arbitrary: fc.array(fc.tuple(tie('tiny'), tie('tiny')), { maxLength: 2 }).map((es) => new Map(es)), weight: 1 },
    { arbitrary: fc.array(tie('tiny'), { maxLength: 2 }).map((xs) => new Set(xs)), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom('buf', 'u8', 'f64'), fc.constantFrom<number[]>([], [0], [1]))
        .map(([type, xs]) =>
          type === 'buf' ? Buffer.from(xs) : type === 'u8' ? new Uint8Array(xs) : new Float64Array(xs.map((x) => -x)),
        ),
      weight: 1,
    },
  ),
}))

/** Occasionally long, so hashed keys are covered too. */
const argument = fc.oneof(
  { arbitrary: value, weight: 9 },
  { arbitrary: fc.string({ minLength: 190, maxLength: 210 }), weight: 1 },
)
export const argList = fc.array(argument, { maxLength: 3 })

/** An equal copy built in a different order: object keys, Map entries and Set elements inserted in reverse. */
export function reshuffle(v: unknown): unknown {
  switch (kindOf(v)) {
    case 'array': {
      const a = v as unknown[]
      const copy = new Array<unknown>(a.length)
      for (let i = a.length - 1; i >= 0; i--) if (i in a) copy[i] = reshuffle(a[i])
      return copy
    }
    case 'plain': {
      const entries = Object.keys(v as object).map((k) => [k, reshuffle((v as Record<string, unknown>)[k])] as const)
      return objectFrom(entries.reverse(), Object.getPrototypeOf(v) === null)
    }
    case 'map':
      return new Map<unknown, unknown>(
        [...(v as Map<unknown, unknown>)].map(([k, x]) => [reshuffle(k), reshuffle(x)] as const).reverse(),
      )
    case 'set':
      return new Set([...(v as Set<unknown>)].map(reshuffle).reverse())
    case 'date':
      return new Date((v as Date).getTime())
    case 'bytes':
    case 'typed': {
      if (Buffer.isBuffer(v)) return Buffer.from(v.toString('hex'), 'hex')
      if (v instanceof ArrayBuffer) return v.slice(0)
      if (v instanceof DataView) return new DataView(v.buffer.slice(0), v.byteOffset, v.byteLength)
      const ctor = (v as { constructor: new (x: unknown) => unknown }).constructor
      return new ctor(v)
    }
    default:
      return v
  }
}

export const listEq = (a: readonly unknown[], b: readonly unknown[], typed: boolean) =>
  a.length === b.length && a.every((x, i) => structEq(x, b[i], typed))
