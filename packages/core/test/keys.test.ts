import { runInNewContext } from 'node:vm'
import { describe, expect, it } from '@jest/globals'
import { ConfigError, KeyError } from '../src/errors'
import { escapeKeyPart } from '../src/key-part'
import { createKeyEncoder, type KeyEncoderOptions } from '../src/keys'

let counter = 0
/** A fresh function identity per encoder, so no test can pass because of another's key. */
const uniqueName = (label: string) => `${label}.${process.pid}.${++counter}.${Math.random().toString(36).slice(2)}`
const encoder = (options: Omit<KeyEncoderOptions, 'functionName'> = {}) =>
  createKeyEncoder({ functionName: uniqueName('fn'), ...options })

/** The part of the key after the function identity. */
const encodingOf = (key: string, functionName: string) => {
  const prefix = `${escapeKeyPart(functionName)}:`
  expect(key.startsWith(prefix)).toBe(true)
  return key.slice(prefix.length)
}

function keyError(run: () => unknown): KeyError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(KeyError)
    return error as KeyError
  }
  throw new Error('expected a KeyError, nothing was thrown')
}

function configError(options: KeyEncoderOptions): ConfigError {
  try {
    createKeyEncoder(options)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError, nothing was thrown')
}

/** Asserts that every list of arguments gets a key different from every other one. */
function expectAllDistinct(encode: (args: readonly unknown[]) => string, argLists: readonly (readonly unknown[])[]) {
  const seen = new Map<string, number>()
  argLists.forEach((args, index) => {
    const key = encode(args)
    const previous = seen.get(key)
    if (previous !== undefined) {
      throw new Error(`argument lists #${previous} and #${index} share the key ${key}`)
    }
    seen.set(key, index)
  })
}

describe('createKeyEncoder: key shape', () => {
  it('prefixes the escaped function identity, whatever characters it has', () => {
    for (const name of ['plain', 'with:colon', '100%', '', ' spaces and ünïcödé 🎉 ', 'a:b%3Ac']) {
      const key = createKeyEncoder({ functionName: name })([1])
      expect(key.startsWith(`${escapeKeyPart(name)}:`)).toBe(true)
    }
    const a = createKeyEncoder({ functionName: 'a:b' })(['c'])
    const b = createKeyEncoder({ functionName: 'a' })(['b:c'])
    expect(a).not.toBe(b)
  })

  it('is readable for small arguments', () => {
    const name = uniqueName('readable')
    const encode = createKeyEncoder({ functionName: name })
    expect(encodingOf(encode([7, 'hello', { b: [1, 2], a: 1 }]), name)).toBe('[7,"hello",{"a":1,"b":[1,2]}]')
  })

  it('replaces long encodings by # and a full SHA-256 digest, and keeps distinct values distinct', () => {
    const name = uniqueName('long')
    const encode = createKeyEncoder({ functionName: name })
    const long = 'x'.repeat(500)
    const encoding = encodingOf(encode([long]), name)
    expect(encoding).toMatch(/^#[A-Za-z0-9_-]{43}$/)
    expect(encode([long])).toBe(encode([`${'x'.repeat(250)}${'x'.repeat(250)}`]))
    expect(encode([long])).not.toBe(encode([`${long}y`]))
    expect(encode([long])).not.toBe(encode([[long]]))
    // The boundary: a 200-character encoding stays readable, 201 characters are hashed.
    expect(encodingOf(encode(['a'.repeat(196)]), name)).toBe(`["${'a'.repeat(196)}"]`)
    expect(encodingOf(encode(['a'.repeat(197)]), name)).toMatch(/^#/)
    // Strings that grow when escaped are measured after escaping (the single-string shortcut must agree).
    const escaped = '\n'.repeat(150)
    expect(encodingOf(encode([escaped]), name)).toMatch(/^#/)
    expect(encode([escaped])).not.toBe(encode(['\t'.repeat(150)]))
  })

  it('no unhashed encoding starts with #', () => {
    const name = uniqueName('hash-tag')
    const encode = createKeyEncoder({ functionName: name })
    const custom = createKeyEncoder({ functionName: name, key: (x: unknown) => x })
    for (const args of [[], ['#'], [1], [{ '#': 1 }], [new Map()], [[]]] as unknown[][]) {
      expect(encodingOf(encode(args), name)[0]).not.toBe('#')
      expect(encodingOf(custom(args), name)[0]).not.toBe('#')
    }
  })
})

describe('createKeyEncoder: equal values give equal keys', () => {
  it('ignores object key order but not array order', () => {
    const encode = encoder()
    expect(encode([{ a: 1, b: { c: 2, d: 3 } }])).toBe(encode([{ b: { d: 3, c: 2 }, a: 1 }]))
    expect(encode([[1, 2]])).not.toBe(encode([[2, 1]]))
  })

  it('treats a null-prototype object like a plain object (unless typed)', () => {
    const bare = Object.assign(Object.create(null), { a: 1 })
    const encode = encoder()
    expect(encode([bare])).toBe(encode([{ a: 1 }]))
    const typed = encoder({ typed: true })
    expect(typed([bare])).not.toBe(typed([{ a: 1 }]))
  })

  it('sorts Map entries and Set elements canonically', () => {
    const encode = encoder()
    expect(
      encode([
        new Map<unknown, unknown>([
          ['b', 1],
          [1, 'b'],
          [{ x: 1 }, [2]],
        ]),
      ]),
    ).toBe(
      encode([
        new Map<unknown, unknown>([
          [{ x: 1 }, [2]],
          [1, 'b'],
          ['b', 1],
        ]),
      ]),
    )
    expect(encode([new Set([3, 'a', { z: [1] }])])).toBe(encode([new Set([{ z: [1] }, 'a', 3])]))
    expect(encode([new Set([1, 2])])).not.toBe(encode([new Set([1, 2, 3])]))
    expect(encode([new Map([[1, 2]])])).not.toBe(encode([new Map([[2, 1]])]))
    // Two different objects that are structurally equal are two entries, not one.
    expect(encode([new Set([{ a: 1 }, { a: 1 }])])).not.toBe(encode([new Set([{ a: 1 }])]))
  })

  it('encodes Dates by time value, invalid Dates stably', () => {
    const encode = encoder()
    expect(encode([new Date(1_700_000_000_000)])).toBe(encode([new Date('2023-11-14T22:13:20.000Z')]))
    expect(encode([new Date(1)])).not.toBe(encode([new Date(2)]))
    expect(encode([new Date(Number.NaN)])).toBe(encode([new Date('not a date')]))
    expect(encode([new Date(Number.NaN)])).not.toBe(encode([new Date(0)]))
    expect(encode([new Date(0)])).not.toBe(encode([0]))
  })

  it('encodes typed arrays and buffers by content; Buffer and Uint8Array with the same bytes differ', () => {
    const encode = encoder()
    expect(encode([Buffer.from('hello')])).toBe(encode([Buffer.from([104, 101, 108, 108, 111])]))
    expect(encode([new Uint8Array([1, 2])])).toBe(encode([new Uint8Array([9, 1, 2, 9]).subarray(1, 3)]))
    expect(encode([Buffer.from([1, 2])])).not.toBe(encode([new Uint8Array([1, 2])]))
    expect(encode([new Uint8Array([1, 2])])).not.toBe(encode([new Int8Array([1, 2])]))
    expect(encode([new Uint16Array([1])])).not.toBe(encode([new Uint8Array([1, 0])]))
    expect(encode([new Float64Array([0])])).not.toBe(encode([new Float64Array([-0])]))
    expect(encode([new Float64Array([Number.NaN])])).toBe(encode([new Float64Array([Number.NaN])]))
    expect(encode([new BigInt64Array([1n])])).not.toBe(encode([new BigUint64Array([1n])]))
    expect(encode([new Uint8Array([1, 2]).buffer])).not.toBe(encode([new Uint8Array([1, 3]).buffer]))
    expect(encode([new DataView(new Uint8Array([5]).buffer)])).not.toBe(encode([new Uint8Array([5]).buffer]))
    expect(encode([new Uint8Array([])])).not.toBe(encode([new Uint8Array([0])]))
  })

  it('gives NaN a stable key and keeps -0 apart from 0 (Object.is semantics)', () => {
    const encode = encoder()
    expect(encode([Number.NaN])).toBe(encode([0 / 0]))
    expect(encode([-0])).not.toBe(encode([0]))
    expect(encode([[-0]])).not.toBe(encode([[0]]))
    expect(encode([{ a: -0 }])).not.toBe(encode([{ a: 0 }]))
    expect(encode([Number.POSITIVE_INFINITY])).not.toBe(encode([Number.NEGATIVE_INFINITY]))
  })

  it('encodes built-ins and plain objects from another realm (vm, jest sandbox) like local ones', () => {
    const encode = encoder()
    const foreign = runInNewContext(
      '({ o: { b: [1, 2], a: new Date(5) }, m: new Map([[1, new Set(["x"])]]), t: new Float64Array([1]), u: new Uint8Array([2]) })',
    ) as Record<string, unknown>
    expect(Object.getPrototypeOf(foreign.o)).not.toBe(Object.prototype)
    expect(encode([foreign.o, foreign.m, foreign.t, foreign.u])).toBe(
      encode([
        { a: new Date(5), b: [1, 2] },
        new Map([[1, new Set(['x'])]]),
        new Float64Array([1]),
        new Uint8Array([2]),
      ]),
    )
    const foreignClass = runInNewContext('class Socket {}; new Socket()')
    expect(keyError(() => encode([foreignClass])).valueType).toBe('Socket')
    const foreignSub = runInNewContext('class MyMap extends Map {}; new MyMap()')
    expect(keyError(() => encode([foreignSub])).valueType).toBe('MyMap')
  })

  it('accepts repeated references to the same object', () => {
    const encode = encoder()
    const shared = { x: [1] }
    expect(encode([{ a: shared, b: shared }, shared])).toBe(encode([{ a: { x: [1] }, b: { x: [1] } }, { x: [1] }]))
  })

  it('encodes deep (non-cyclic) structures beyond the fast pass', () => {
    const encode = encoder()
    const nest = (n: number, leaf: unknown) => {
      let v: unknown = leaf
      for (let i = 0; i < n; i++) v = { d: [v] }
      return v
    }
    expect(encode([nest(200, 1)])).toBe(encode([nest(200, 1)]))
    expect(encode([nest(200, 1)])).not.toBe(encode([nest(200, 2)]))
    expect(encode([nest(200, 1)])).not.toBe(encode([nest(199, 1)]))
  })
})

describe('createKeyEncoder: different values give different keys', () => {
  it('keeps primitive types apart', () => {
    expectAllDistinct(encoder(), [
      [1],
      ['1'],
      [true],
      ['true'],
      [1n],
      ['1n'],
      [null],
      ['null'],
      [undefined],
      ['undefined'],
      [Number.NaN],
      ['NaN'],
      [0],
      [-0],
      [''],
      [false],
      [[]],
      [{}],
      [new Map()],
      [new Set()],
      ['[]'],
      ['{}'],
    ])
  })

  it('has no delimiter ambiguity between strings, arrays and nesting', () => {
    expectAllDistinct(encoder(), [
      ['a,b'],
      ['a', 'b'],
      [['a', 'b']],
      [['a,b']],
      [['a'], 'b'],
      ['a', ['b']],
      [[['a', 'b']]],
      ['"a","b"'],
      ['a"', '"b'],
      ['a\\', 'b'],
      ['a\\"', 'b'],
      [{ a: 'b' }],
      [{ 'a":"b': '' }],
      [{ a: 'b', c: 'd' }],
      [{ a: 'b,"c":"d' }],
      [{ 'a:b': 1 }],
      [{ a: { b: 1 } }],
      ['a=>b'],
      [new Map([['a', 'b']])],
      [new Set(['a', 'b'])],
      [new Set(['a,b'])],
      ['*'],
      ['_'],
      [']'],
      ['~'],
      ['#'],
    ])
  })

  it('counts arguments: trailing undefined matters', () => {
    expectAllDistinct(encoder(), [[], [undefined], [undefined, undefined], [1], [1, undefined]])
  })

  it('keeps holes apart from undefined elements', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    const sparse = [1, , 3]
    expectAllDistinct(encoder(), [[sparse], [[1, undefined, 3]], [[1, 3]], [new Array(2)], [[undefined, undefined]]])
  })

  it('keeps {a: undefined} apart from {}', () => {
    expectAllDistinct(encoder(), [[{}], [{ a: undefined }], [{ b: undefined }], [{ a: null }]])
  })

  it('treats an own __proto__ key as an ordinary key', () => {
    const encode = encoder()
    const withProto = JSON.parse('{"__proto__": {"x": 1}}') as object
    expect(Object.getPrototypeOf(withProto)).toBe(Object.prototype)
    expectAllDistinct(encode, [[withProto], [{}], [{ x: 1 }], [JSON.parse('{"__proto__": {"x": 2}}')]])
    expect(encode([withProto])).toBe(encode([JSON.parse('{"__proto__": {"x": 1}}')]))
  })

  it('escapes lone surrogates so keys are well-formed Unicode', () => {
    const encode = encoder()
    const keys = ['\ud800', '\udbff', '\udc00', '\ufffd', '😀', '\ud83d'].map((s) => encode([s]))
    expect(new Set(keys).size).toBe(keys.length)
    for (const key of keys) expect(Buffer.from(key, 'utf8').toString('utf8')).toBe(key)
    // Same for the long (hashed) path: the digest is over well-formed text.
    expect(encode(['\ud800'.repeat(300)])).not.toBe(encode(['\udbff'.repeat(300)]))
  })

  it('keeps a custom key result apart from any argument list', () => {
    const name = uniqueName('custom')
    const custom = createKeyEncoder({ functionName: name, key: (x: unknown) => x })
    const plain = createKeyEncoder({ functionName: name })
    expect(custom([[1]])).not.toBe(plain([1]))
    expect(custom([[]])).not.toBe(plain([]))
    expect(custom([['x'.repeat(300)]])).not.toBe(plain(['x'.repeat(300)]))
  })
})

describe('createKeyEncoder: options', () => {
  it('leaves ignored arguments out without reading them', () => {
    const untouchable = new Proxy(
      {},
      {
        get: () => {
          throw new Error('read an ignored argument')
        },
        getPrototypeOf: () => {
          throw new Error('read an ignored argument')
        },
        ownKeys: () => {
          throw new Error('read an ignored argument')
        },
      },
    )
    const encode = encoder({ ignoreArgs: [1, 3] })
    class Socket {}
    expect(encode([1, untouchable, 2, () => 0])).toBe(encode([1, new Socket(), 2, Symbol('x')]))
    expect(encode([1, untouchable, 2])).not.toBe(encode([1, untouchable, 3]))
    // Presence still counts, so an optional ignored argument only costs a miss.
    expect(encode([1])).not.toBe(encode([1, untouchable]))
    expect(encode([1, untouchable])).not.toBe(encode([1, untouchable, undefined]))
  })

  it('uses a custom key function result, encoded like arguments', () => {
    class Conn {}
    const encode = encoder({ key: (user: { id: number }, _conn: Conn) => ({ id: user.id }) })
    expect(encode([{ id: 1, name: 'a' }, new Conn()])).toBe(encode([{ id: 1, name: 'b' }, new Conn()]))
    expect(encode([{ id: 1 }, new Conn()])).not.toBe(encode([{ id: 2 }, new Conn()]))
  })

  it('applies type encoders at any depth, first match wins, before plain-object handling', () => {
    class Decimal {
      constructor(readonly text: string) {}
    }
    class Money extends Decimal {}
    const encode = encoder({
      typeEncoders: [
        [Money, (m: Money) => ({ money: m.text })],
        [Decimal, (d: Decimal) => d.text],
      ],
    })
    expect(encode([new Decimal('1.5')])).toBe(encode(['1.5']))
    expect(encode([{ price: [new Decimal('2')] }])).toBe(encode([{ price: ['2'] }]))
    expect(encode([new Money('2')])).toBe(encode([{ money: '2' }]))
    expect(encode([new Map([[new Decimal('1'), new Set([new Decimal('2')])]])])).toBe(
      encode([new Map([['1', new Set(['2'])]])]),
    )
    // An encoder for Object catches plain objects too, since encoders come first.
    const everything = encoder({ typeEncoders: [[Object, () => 'same']] })
    expect(everything([{ a: 1 }])).toBe(everything([{ b: 2 }]))
  })

  it('encodes an encoder result that contains further encoded values', () => {
    class Inner {
      constructor(readonly v: number) {}
    }
    class Outer {
      constructor(readonly inner: Inner) {}
    }
    const encode = encoder({
      typeEncoders: [
        [Outer, (o: Outer) => ({ inner: o.inner })],
        [Inner, (i: Inner) => i.v],
      ],
    })
    expect(encode([new Outer(new Inner(3))])).toBe(encode([{ inner: 3 }]))
    // A chain that terminates (each encoder hands back a smaller instance) is fine.
    class Node {
      constructor(readonly parent: Node | undefined) {}
    }
    const chain = encoder({ typeEncoders: [[Node, (n: Node) => n.parent ?? 'root']] })
    expect(chain([new Node(new Node(new Node(undefined)))])).toBe(chain(['root']))
  })

  it('typed: type-encoded values are tagged with their constructor, so they differ from what they encode to', () => {
    class Decimal {
      constructor(readonly text: string) {}
    }
    class Ratio {
      constructor(readonly text: string) {}
    }
    const typeEncoders = [
      [Decimal, (d: Decimal) => d.text],
      [Ratio, (r: Ratio) => r.text],
    ] as const
    const untyped = encoder({ typeEncoders })
    const typed = encoder({ typed: true, typeEncoders })
    expect(untyped([new Decimal('1')])).toBe(untyped(['1']))
    expect(untyped([new Decimal('1')])).toBe(untyped([new Ratio('1')]))
    expectAllDistinct(typed, [[new Decimal('1')], ['1'], [new Ratio('1')], [{ x: new Decimal('1') }], [{ x: '1' }]])
    expect(typed([new Decimal('1')])).toBe(typed([new Decimal('1')]))
  })

  it('validates options eagerly with ConfigError', () => {
    const functionName = uniqueName('cfg')
    const cases: [KeyEncoderOptions, string, RegExp][] = [
      [{ functionName, ignoreArgs: [-1] }, 'ignoreArgs', /ignoreArgs\[0\].*non-negative integer.*-1/],
      [{ functionName, ignoreArgs: [1.5] }, 'ignoreArgs', /1\.5/],
      [{ functionName, ignoreArgs: [Number.NaN] }, 'ignoreArgs', /NaN/],
      [{ functionName, ignoreArgs: ['1' as unknown as number] }, 'ignoreArgs', /"1"/],
      [{ functionName, ignoreArgs: [0, 2, 0] }, 'ignoreArgs', /position 0 twice/],
      [{ functionName, ignoreArgs: 1 as unknown as number[] }, 'ignoreArgs', /array/],
      [{ functionName, key: () => 1, ignoreArgs: [0] }, 'ignoreArgs', /key and ignoreArgs cannot be combined/],
      [{ functionName, key: 'id' as unknown as () => unknown }, 'key', /key must be a function/],
      [{ functionName, typed: 'yes' as unknown as boolean }, 'typed', /typed must be true or false/],
      [{ functionName, typeEncoders: {} as unknown as [] }, 'typeEncoders', /array of \[Class, encoder\]/],
      [{ functionName, typeEncoders: [[(() => 1) as never, (x: unknown) => x]] }, 'typeEncoders', /typeEncoders\[0\]/],
      [{ functionName, typeEncoders: [[Date, 'x' as never]] }, 'typeEncoders', /typeEncoders\[0\]/],
      [{ functionName: 42 as unknown as string }, 'name', /must be a string/],
    ]
    for (const [options, option, message] of cases) {
      const error = configError(options)
      expect(error.option).toBe(option)
      expect(error.message).toMatch(message)
    }
    // key alone and ignoreArgs alone are fine; an empty ignoreArgs next to key too.
    expect(() => createKeyEncoder({ functionName, key: () => 1, ignoreArgs: [] })).not.toThrow()
  })
})

describe('createKeyEncoder: values that cannot be encoded', () => {
  class Socket {
    readonly fd = 3
  }

  it('a class instance: names the path, the constructor, the function and both fixes', () => {
    const functionName = uniqueName('users.byId')
    const encode = createKeyEncoder({ functionName })
    const error = keyError(() => encode([1, { user: { tags: [new Socket()] } }]))
    expect(error.path).toBe('args[1].user.tags[0]')
    expect(error.valueType).toBe('Socket')
    expect(error.functionName).toBe(functionName)
    expect(error.code).toBe('E_KEY')
    expect(error.message).toContain(functionName)
    expect(error.message).toContain('args[1].user.tags[0]')
    expect(error.message).toContain('Socket')
    expect(error.message).toContain('ignoreArgs: [1]')
    expect(error.message).toContain('typeEncoders: [[Socket, (value) => ...]]')
  })

  it('names non-identifier keys, Map values and Set elements in the path', () => {
    const encode = encoder()
    expect(keyError(() => encode([{ 'a b': [0, new Socket()] }])).path).toBe('args[0]["a b"][1]')
    expect(keyError(() => encode(['x', new Map([['k', new Socket()]])])).path).toBe('args[1].get("k")')
    expect(keyError(() => encode([new Map([[new Socket(), 1]])])).path).toBe('args[0]<Map key #0>')
    expect(keyError(() => encode([new Set([1, new Socket()])])).path).toBe('args[0]<Set element #1>')
  })

  it('a function, a symbol value and a symbol key', () => {
    const encode = encoder()
    const fn = keyError(() => encode([{ cb: () => 1 }]))
    expect(fn.valueType).toBe('function')
    expect(fn.path).toBe('args[0].cb')
    expect(fn.message).toMatch(/function.*ignoreArgs: \[0\]/)
    const sym = keyError(() => encode([1, 2, [Symbol('s')]]))
    expect(sym.valueType).toBe('symbol')
    expect(sym.path).toBe('args[2][0]')
    expect(sym.message).toContain('ignoreArgs: [2]')
    const symKey = keyError(() => encode([{ a: 1, [Symbol('tag')]: 1 }]))
    expect(symKey.valueType).toBe('symbol')
    expect(symKey.path).toBe('args[0][Symbol(tag)]')
    // A non-enumerable symbol key is not part of the key, like any non-enumerable property.
    const hidden = Object.defineProperty({ a: 1 }, Symbol('hidden'), { value: 1, enumerable: false })
    expect(encode([hidden])).toBe(encode([{ a: 1 }]))
  })

  it('built-ins without a defined encoding: WeakMap, Promise, RegExp, Error, boxed primitives, subclasses', () => {
    const encode = encoder()
    class MyMap extends Map {}
    class MyArray extends Array {}
    const cases: [unknown, string][] = [
      [new WeakMap(), 'WeakMap'],
      [new WeakSet(), 'WeakSet'],
      [Promise.resolve(1), 'Promise'],
      [/x/, 'RegExp'],
      [new Error('x'), 'Error'],
      [Object(1), 'Number'],
      [new MyMap(), 'MyMap'],
      [MyArray.from([1]), 'MyArray'],
    ]
    for (const [value, type] of cases) {
      const error = keyError(() => encode([value]))
      expect(error.valueType).toBe(type)
      expect(error.message).toContain(`typeEncoders: [[${type}, (value) => ...]]`)
    }
    // Inherited properties would be invisible in the key, so an object with a plain-object prototype is refused.
    const inherited = keyError(() => encode([Object.create({ inherited: 1 })]))
    expect(inherited.valueType).toBe('object with a custom prototype')
    expect(inherited.message).toContain('args[0] is an object with a custom prototype (its inherited properties')
  })

  it('reads as English: an Error, a URL, a Uint8Array-like class, an object with a custom prototype', () => {
    const encode = encoder()
    class Invoice {}
    const messages = [new Error('x'), new URL('http://a'), new Invoice()].map(
      (v) => keyError(() => encode([v])).message,
    )
    expect(messages[0]).toContain('args[0] is an Error instance, which memokit cannot encode')
    expect(messages[1]).toContain('args[0] is a URL instance')
    expect(messages[2]).toContain('args[0] is an Invoice instance')
  })

  it('a cycle, through objects, arrays, Maps and type encoders', () => {
    const encode = encoder()
    const a: { self?: unknown; list: unknown[] } = { list: [] }
    a.list.push({ back: a })
    const error = keyError(() => encode([0, a]))
    expect(error.valueType).toBe('cycle')
    expect(error.path).toBe('args[1].list[0].back')
    expect(error.message).toMatch(/cycle.*ignoreArgs: \[1\]/)
    const m = new Map<string, unknown>()
    m.set('m', m)
    expect(keyError(() => encode([m])).path).toBe('args[0].get("m")')
    class Node {
      next: Node | undefined
    }
    const n = new Node()
    n.next = n
    const viaEncoder = encoder({ typeEncoders: [[Node, (x: Node) => ({ next: x.next })]] })
    expect(keyError(() => viaEncoder([n])).valueType).toBe('cycle')
  })

  it('a type encoder that loops forever or returns its input', () => {
    class D {
      constructor(readonly v: number) {}
    }
    const runaway = encoder({ typeEncoders: [[D, (d: D) => new D(d.v + 1)]] })
    const deep = keyError(() => runaway([new D(0)]))
    expect(deep.message).toMatch(/nested more than 500 levels/)
    expect(deep.path.length).toBeLessThan(200)
    const identity = encoder({ typeEncoders: [[D, (d: D) => d]] })
    expect(keyError(() => identity([new D(0)])).message).toMatch(/returned the value itself/)
  })

  it('a type encoder or custom key function that throws: KeyError with the cause', () => {
    class D {}
    const boom = new Error('boom')
    const throwing = encoder({
      typeEncoders: [
        [
          D,
          () => {
            throw boom
          },
        ],
      ],
    })
    const error = keyError(() => throwing([{ d: new D() }]))
    expect(error.path).toBe('args[0].d')
    expect(error.cause).toBe(boom)
    expect(error.message).toContain('boom')
    const customThrows = encoder({
      key: () => {
        throw boom
      },
    })
    expect(keyError(() => customThrows([1])).cause).toBe(boom)
  })

  it('a custom key result that cannot be encoded names the key function, not ignoreArgs', () => {
    const encode = encoder({ key: (s: Socket) => ({ s }) })
    const error = keyError(() => encode([new Socket()]))
    expect(error.path).toBe('key(...args).s')
    expect(error.message).not.toContain('ignoreArgs')
    expect(error.message).toContain('custom key function')
  })

  it('never returns a key for a value it could not encode, at any depth', () => {
    const encode = encoder()
    let v: unknown = () => 1
    for (let i = 0; i < 100; i++) v = [v]
    expect(keyError(() => encode([v])).valueType).toBe('function')
  })
})
