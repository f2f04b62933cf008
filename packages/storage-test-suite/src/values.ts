import type { EntryMeta } from '@memokit/core'

/** Fixtures the value round-trip checks write: each group is one `it`, each value one key. */

/** Every byte value 0..255, in order. */
export function allBytes(): Uint8Array {
  const bytes = new Uint8Array(256)
  for (let i = 0; i < 256; i++) bytes[i] = i
  return bytes
}

/** A view into the middle of a larger buffer: a codec that encodes `view.buffer` instead of the view is caught. */
export function offsetBytesView(): Uint8Array {
  const backing = new Uint8Array(256 + 7)
  backing.fill(0xee)
  const view = new Uint8Array(backing.buffer, 3, 256)
  for (let i = 0; i < 256; i++) view[i] = 255 - i
  return view
}

export const stringValues: readonly string[] = [
  '',
  'a',
  ' ',
  'plain ascii text',
  'unicode: 日本語 ü ß 😀 \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}',
  'controls: \u0000 \u0001 \t \n \r\n \u007f',
  'json-ish: {"a":1} [1,2] "quoted" \\ backslash',
  // A lone surrogate: legal in a JS string, easy to mangle when encoding to UTF-8.
  'lone surrogate: \ud800 end',
  'undefined',
  'null',
  '%3A%25:*?[x]',
  // Long enough to cross typical buffer boundaries, short enough for memcached's default 1 MB item limit.
  `${'long '.repeat(20_000)}ü😀`,
]

export const numberValues: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.1,
  1 / 3,
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
]

export function nestedValues(): unknown[] {
  return [
    {},
    [],
    { a: 1, b: 'two', c: [3, { d: [null, true, false, { e: 'deep' }] }] },
    [[[[[[[[[['ten levels']]]]]]]]]],
    { 'key with spaces': 1, ü: 2, '': 3, 'a.b': 4, $dollar: 5, 'colon:key': 6 },
    { holes: [1, undefined, 3], specials: [-0, Number.NaN, Number.POSITIVE_INFINITY], undef: undefined },
    Array.from({ length: 1000 }, (_, i) => ({ i, s: `item-${i}` })),
  ]
}

export function richValues(): Record<string, unknown[]> {
  return {
    Date: [new Date(0), new Date('2024-02-29T12:34:56.789Z'), new Date(-8.64e15), new Date(8.64e15)],
    Map: [
      new Map(),
      new Map<unknown, unknown>([
        ['a', 1],
        [2, 'b'],
        ['nested', new Map([['x', [1, 2]]])],
      ]),
    ],
    Set: [new Set(), new Set<unknown>([1, 'a', null, 2.5])],
    BigInt: [0n, 1n, -1n, 2n ** 64n, -(2n ** 100n) + 1n],
    RegExp: [/a.b/, /^x+$/gimsu, /[/\\]\d{2,}/y],
    'nested rich types': [
      { when: new Date(1_700_000_000_000), tags: new Set(['x', 'y']), big: 10n ** 30n, m: new Map([[1, /re/g]]) },
    ],
  }
}

/**
 * Metadata a storage must keep verbatim with an entry (`SetOptions.meta` → `Entry.meta`): core's own field, an
 * empty object, and JSON shapes that break naive encodings (commas and quotes in a comma-separated header,
 * nesting, unicode, numbers that are not integers).
 */
export function metaValues(): EntryMeta[] {
  return [
    { promise: true },
    { promise: false },
    {},
    {
      promise: true,
      note: 'a, "quoted", \'single\' and \\ backslash, with a\nnewline',
      list: [1, -2.5, 1e21, 'x,y', '', true, false, [], {}, [['deep']]],
      nested: { a: { b: { c: ['d', { e: 'f' }] } } },
    } as EntryMeta,
    { 'key, with "odd" chars': 'ü😀', '': 0, $dollar: 'x', 'dotted.key': 1 } as EntryMeta,
  ]
}
