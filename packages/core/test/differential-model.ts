import fc from 'fast-check'
import type { TypeEncoder } from '../src/keys'

/*
 * Arbitraries of the differential tests (differential.property.test.ts here and in packages/file): wrapper options,
 * a small pool of argument lists, and sequences of operations. Argument lists are named atoms, so a counterexample
 * prints readably and every call can build a fresh, equal copy of its arguments.
 */

export class Id {
  constructor(readonly id: number) {}
}
export class SubId extends Id {}
export class Name {
  constructor(readonly s: string) {}
}
export class Pair {
  constructor(
    readonly a: unknown,
    readonly b: unknown,
  ) {}
}

function sparse(): unknown[] {
  const a: unknown[] = []
  a[1] = 1
  return a
}

/**
 * How to build an atom afresh, and its near twin: a value whose key differs in one small place (or not at all:
 * `{a:1,b:[1,2]}` and `{b:[1,2],a:1}` are equal), so pools hold lists that a wrong fast path would confuse.
 */
type Atom = readonly [build: () => unknown, twin: string]

const NUMBERS: Record<string, Atom> = {
  '0': [() => 0, '-0'],
  '-0': [() => -0, '0'],
  '1': [() => 1, 's"1"'],
  '-1': [() => -1, '1'],
  '2': [() => 2, 'Id(2)'],
  NaN: [() => Number.NaN, 's"NaN"'],
  '1e21': [() => 1e21, '1'],
  Infinity: [() => Number.POSITIVE_INFINITY, '-Infinity'],
  '-Infinity': [() => Number.NEGATIVE_INFINITY, 'Infinity'],
  '1.5': [() => 1.5, '1'],
}
const PLAIN: Record<string, Atom> = {
  ...NUMBERS,
  's""': [() => '', 'undefined'],
  's"1"': [() => '1', '1'],
  's"-0"': [() => '-0', '-0'],
  's"NaN"': [() => 'NaN', 'NaN'],
  's"a"': [() => 'a', 'Name("a")'],
  true: [() => true, '1'],
  null: [() => null, 'undefined'],
  undefined: [() => undefined, 'null'],
  '{}': [() => ({}), '{a:undefined}'],
  '{a:1}': [() => ({ a: 1 }), '(null){a:1}'],
  '{a:1,b:[1,2]}': [() => ({ a: 1, b: [1, 2] }), '{b:[1,2],a:1}'],
  '{b:[1,2],a:1}': [() => ({ b: [1, 2], a: 1 }), '{a:1,b:[1,2]}'],
  '{a:undefined}': [() => ({ a: undefined }), '{}'],
  '{a:0}': [() => ({ a: 0 }), '{a:-0}'],
  '{a:-0}': [() => ({ a: -0 }), '{a:0}'],
  '{a:NaN}': [() => ({ a: Number.NaN }), '{a:0}'],
  '(null){a:1}': [() => Object.assign(Object.create(null), { a: 1 }), '{a:1}'],
  '[]': [() => [], '[_]'],
  '[1]': [() => [1], '["1"]'],
  '[0]': [() => [0], '[-0]'],
  '[-0]': [() => [-0], '[0]'],
  '["1"]': [() => ['1'], '[1]'],
  '[1,[2]]': [() => [1, [2]], '[1]'],
  '[_,1]': [sparse, '[undefined,1]'],
  '[_]': [() => new Array(1), '[undefined]'],
  '[undefined]': [() => [undefined], '[_]'],
  '[undefined,1]': [() => [undefined, 1], '[_,1]'],
  '[1,"a"]': [() => [1, 'a'], 'Pair(1,"a")'],
  '{x:2}': [() => ({ x: 2 }), '{x:Id(2)}'],
}
const OTHER: Record<string, Atom> = {
  'Date(0)': [() => new Date(0), '0'],
  'Date(NaN)': [() => new Date(Number.NaN), 'Date(0)'],
  'Id(1)': [() => new Id(1), '1'],
  'Id(-0)': [() => new Id(-0), '-0'],
  'Id(NaN)': [() => new Id(Number.NaN), 'NaN'],
  'Id(2)': [() => new Id(2), '2'],
  'SubId(1)': [() => new SubId(1), 'Id(1)'],
  'Name("1")': [() => new Name('1'), 's"1"'],
  'Name("a")': [() => new Name('a'), 's"a"'],
  'Pair(1,"a")': [() => new Pair(1, 'a'), '[1,"a"]'],
  'Pair(Id(1),[1])': [() => new Pair(new Id(1), [1]), 'Pair(1,"a")'],
  '[Id(1)]': [() => [new Id(1)], '[1]'],
  '{x:Id(2)}': [() => ({ x: new Id(2) }), '{x:2}'],
}
const ATOMS: Record<string, Atom> = { ...PLAIN, ...OTHER }
for (const [a, [, twin]] of Object.entries(ATOMS)) {
  if (!(twin in ATOMS)) throw new Error(`differential-model: the twin of ${a} is not an atom`)
}

/** `atoms` with the atom at `at` replaced by its twin; an empty list gets one `undefined` argument. */
const twinOf = (atoms: readonly string[], at: number): string[] =>
  atoms.length === 0 ? ['undefined'] : atoms.map((a, i) => (i === at % atoms.length ? (ATOMS[a] as Atom)[1] : a))

/** A fresh copy of the argument list named by `atoms`. */
export const buildArgs = (atoms: readonly string[]): unknown[] => atoms.map((a) => (ATOMS[a] as Atom)[0]())

// Numbers, strings, arrays, nested encodings, subclass order, and one that claims every object (Dates, plain
// objects, arrays: everything but null-prototype objects).
export const ENCODER_SETS: readonly (readonly TypeEncoder[])[] = [
  [
    [Id, (x: Id) => x.id],
    [Name, (x: Name) => x.s],
    [Pair, (x: Pair) => [x.a, x.b]],
  ],
  [
    [SubId, (x: SubId) => `sub${x.id}`],
    [Id, (x: Id) => x.id],
    [Pair, (x: Pair) => [x.b, x.a]],
    [Name, (x: Name) => [x.s]],
  ],
  [
    [Id, (x: Id) => [x.id]],
    [SubId, (x: SubId) => x.id],
    [Name, (x: Name) => x.s.length],
  ],
  [
    [Id, (x: Id) => String(x.id)],
    [Object, (o: object) => Object.keys(o).length],
  ],
]

export const KEY_FNS: readonly ((...args: unknown[]) => unknown)[] = [
  (a) => a,
  (...args) => args.length,
  (a, b) => [b, a],
  (a) => typeof a,
]

/** Names that share a prefix or need escaping; two wrappers with one name (and namespace) share entries on purpose. */
const NAMES = ['f', 'g', 'f:o', 'f%3Ao'] as const

export interface WrapperConfig {
  readonly name: string
  /** Index into the run's two namespaces. */
  readonly ns: 0 | 1
  readonly encoders: number | undefined
  readonly typed: boolean
  readonly keyFn: number | undefined
  /** The one position left out of the key, if any. */
  readonly ignoreArgs: 0 | 1 | undefined
  readonly ttl: number | undefined
  readonly asyncFn: boolean
}

const optionalIndex = (n: number) => fc.option(fc.nat({ max: n - 1 }), { nil: undefined, freq: 2 })
const wrapperConfig: fc.Arbitrary<WrapperConfig> = fc
  .record({
    // Mostly one name, so wrappers with different key options often share entries.
    name: fc.constantFrom('f', 'f', 'f', ...NAMES),
    ns: fc.constantFrom<0 | 1>(0, 0, 0, 1),
    // Half the wrappers use the plain key encoding, the only one the memory fast paths serve.
    plain: fc.boolean(),
    encoders: optionalIndex(ENCODER_SETS.length),
    typed: fc.boolean(),
    keyFn: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.nat({ max: KEY_FNS.length - 1 }) },
    ),
    ignoreArgs: fc.constantFrom<0 | 1 | undefined>(undefined, 0, 0, 1),
    ttl: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
    asyncFn: fc.constantFrom(false, false, false, true),
  })
  .map(({ plain, ...c }) => ({
    ...c,
    // Type encoders keep the plain encoding (and the number table) but turn the by-value path off.
    encoders: plain && (c.encoders === 1 || c.encoders === 2) ? undefined : c.encoders,
    typed: !plain && c.typed,
    keyFn: plain ? undefined : c.keyFn,
    // `key` and `ignoreArgs` exclude each other.
    ignoreArgs: plain || c.keyFn !== undefined ? undefined : c.ignoreArgs,
  }))

const atomOf = (atoms: Record<string, unknown>) => fc.constantFrom(...Object.keys(atoms))
const argList = fc.oneof(
  { weight: 3, arbitrary: atomOf(NUMBERS).map((a) => [a]) },
  { weight: 4, arbitrary: fc.array(atomOf(PLAIN), { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.array(atomOf(ATOMS), { minLength: 1, maxLength: 3 }) },
)

/** `w` and `i` pick a wrapper and an argument list modulo their counts (stable under shrinking). */
export type Op =
  | { readonly kind: 'call'; readonly w: number; readonly i: number; readonly fresh: boolean }
  | { readonly kind: 'repeat'; readonly w: number; readonly i: number; readonly times: number }
  | { readonly kind: 'burst'; readonly w: number; readonly i: number; readonly times: number }
  | { readonly kind: 'delete' | 'refresh' | 'setOutside' | 'deleteOutside'; readonly w: number; readonly i: number }
  | { readonly kind: 'clear'; readonly w: number }
  | { readonly kind: 'time'; readonly ms: number }

const w = fc.nat({ max: 5 })
const i = fc.nat({ max: 13 })
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('call' as const), w, i, fresh: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('repeat' as const), w, i, times: fc.integer({ min: 2, max: 6 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('burst' as const), w, i, times: fc.integer({ min: 2, max: 4 }) }),
  },
  ...(['delete', 'refresh', 'setOutside', 'deleteOutside'] as const).map((kind) => ({
    weight: kind === 'delete' ? 2 : 1,
    arbitrary: fc.record({ kind: fc.constant(kind), w, i }),
  })),
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), w }) },
  // Up to past the longest ttl; exact boundaries included.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 120 }) }) },
)

export interface Scenario {
  readonly wrappers: readonly WrapperConfig[]
  readonly pool: readonly (readonly string[])[]
  readonly ops: readonly Op[]
  /** The memory storage's bound (the file storage has none). */
  readonly maxEntries: number
  /** The memory storage's size bound, or undefined: off. Sizes come from `sizeOfValue(sizeSeed)`. */
  readonly maxSize: number | undefined
  readonly sizeSeed: number
}

/**
 * The size function of a scenario with `maxSize`: 1 to 5 units, from the value (a computation's number, or a
 * negative number written from outside), so equal values weigh the same in the storage and in the reference.
 */
export const sizeOfValue =
  (seed: number) =>
  (value: unknown): number =>
    1 + ((Math.abs(value as number) * 7 + seed) % 5)

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  wrappers: fc.array(wrapperConfig, { minLength: 1, maxLength: 3 }),
  pool: fc
    .tuple(
      fc.array(argList, { minLength: 1, maxLength: 8 }),
      fc.array(fc.tuple(fc.nat({ max: 7 }), fc.nat({ max: 2 })), { minLength: 1, maxLength: 6 }),
    )
    .map(([lists, twins]) => [...lists, ...twins.map(([l, at]) => twinOf(lists[l % lists.length] as string[], at))]),
  ops: fc.array(op, { minLength: 1, maxLength: 80, size: 'medium' }),
  maxEntries: fc.integer({ min: 1, max: 8 }),
  // Half the runs bound the size too; a bound under 5 meets entries too large to keep at all.
  maxSize: fc.option(fc.integer({ min: 1, max: 14 }), { nil: undefined, freq: 2 }),
  sizeSeed: fc.nat({ max: 4 }),
})
