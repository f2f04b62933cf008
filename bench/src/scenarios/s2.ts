import stringify from 'fast-json-stable-stringify'
import { LRUCache } from 'lru-cache'
import memoize from 'memoize'
import memoizee from 'memoizee'
import moize from 'moize'
import { type Contender, compileLoop, measure } from '../harness'
import { memokitVariants } from '../memokit'
import { assertSame, hotKeys, type Scenario } from './types'

const HOT = 128
// A fresh, equal options object on every call, as real callers build them: keys must go by value.
const LOOP = 'let s = 0\nfor (let i = 0; i < n; i++) {\n  const k = keys[i & 1023]\n  s += BODY\n}\nreturn s'
const CALL = "(k, 'hello', { a: 1, b: [1, 2] })"
const loop = (body: string, bindings: Record<string, unknown>) =>
  compileLoop(bindings, LOOP.replace('BODY', body.replace('ARGS', CALL)))

interface Opts {
  readonly a: number
  readonly b: readonly number[]
}

/** S2: sync hit with (number, string, object) arguments, keyed by value. */
export const s2: Scenario = {
  id: 'S2',
  title:
    "sync hit, arguments (n, 'hello', { a: 1, b: [1, 2] }) with a fresh equal object per call (baseline: Map.get of a precomputed key)",
  async run(cfg, log) {
    const keys = hotKeys(HOT)
    const fn = (n: number, s: string, o: Opts): number => n * 2 + s.length + o.a + o.b.length
    const expected = Array.from({ length: HOT }, (_, i) => fn(i, 'hello', { a: 1, b: [1, 2] }))
    const probe = (name: string, f: (n: number, s: string, o: Opts) => number) => () => {
      assertSame(
        name,
        expected.map((_, i) => f(i, 'hello', { a: 1, b: [1, 2] })),
        expected,
      )
    }
    const keyOf = (args: readonly unknown[]): string => stringify(args)

    const pre = Array.from({ length: HOT }, (_, i) => keyOf([i, 'hello', { a: 1, b: [1, 2] }]))
    const map = new Map<string, number>()
    for (let i = 0; i < HOT; i++) map.set(pre[i] as string, expected[i] as number)
    const baseline: Contender = {
      name: 'Map.get',
      note: 'key precomputed',
      loop: loop('map.get(pre[k])', { keys, map, pre }),
      check: probe('Map.get', (n) => map.get(pre[n] as string) as number),
    }

    const lru = new LRUCache<string, number>({ max: 10_000 })
    const lruCall = (n: number, s: string, o: Opts): number => {
      const key = stringify([n, s, o])
      let v = lru.get(key)
      if (v === undefined) {
        v = fn(n, s, o)
        lru.set(key, v)
      }
      return v
    }
    const mzee = memoizee(fn, { length: 3, normalizer: (args) => stringify(Array.from(args)) })
    const mize = memoize(fn, { cacheKey: (args) => stringify(args) })
    const moized = moize(fn, { isDeepEqual: true, maxSize: 256 })
    const contenders: Contender[] = [
      {
        name: 'fast-json-stable-stringify alone',
        note: 'stringify([n, s, o]): the key cost alone',
        loop: loop('stringify([ARGS]).length'.replace('[ARGS]', "[k, 'hello', { a: 1, b: [1, 2] }]"), {
          keys,
          stringify,
        }),
      },
      {
        name: 'lru-cache',
        note: 'key fast-json-stable-stringify(args)',
        loop: loop('lruCall ARGS', { keys, lruCall }),
        check: probe('lru-cache', lruCall),
      },
      {
        name: 'memoizee',
        note: 'normalizer fast-json-stable-stringify',
        loop: loop('mzee ARGS', { keys, mzee }),
        check: probe('memoizee', mzee),
      },
      {
        name: 'memoize',
        note: 'cacheKey fast-json-stable-stringify',
        loop: loop('mize ARGS', { keys, mize }),
        check: probe('memoize', mize),
      },
      {
        name: 'moize',
        note: 'isDeepEqual, maxSize 256',
        loop: loop('moized ARGS', { keys, moized }),
        check: probe('moize', moized),
      },
    ]

    const { variants, skipped, versusAll: versus } = await memokitVariants({ noChannels: true })
    const lines = [...skipped]
    for (const { name, mk, current, versus: own } of variants) {
      const cached = mk.cacheValue?.(fn, { storage: mk.memoryStorage(), name: 'bench.s2' }) as typeof fn
      contenders.push({
        name,
        note: 'cacheValue, memoryStorage()',
        ...(current ? { targetVs: { factor: 2, best: ['lru-cache', 'memoizee', 'memoize', 'moize'] }, versus } : {}),
        ...(own ? { versus: own } : {}),
        // Each variant's loop has its own source text, so the two never share a call site's feedback.
        loop: current
          ? loop('cached ARGS', { keys, cached })
          : loop('cachedBefore ARGS', { keys, cachedBefore: cached }),
        check: probe(name, cached),
      })
    }

    const rows = await measure(cfg, baseline, contenders, log)
    return { id: 'S2', title: this.title, rows, lines }
  },
}
