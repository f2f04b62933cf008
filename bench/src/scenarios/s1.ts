import { LRUCache } from 'lru-cache'
import memoize from 'memoize'
import memoizee from 'memoizee'
import moize from 'moize'
import { type Contender, compileLoop, measure } from '../harness'
import { memokitVariants } from '../memokit'
import { assertSame, hotKeys, type Scenario } from './types'

const HOT = 128
const LOOP = 'let s = 0\nfor (let i = 0; i < n; i++) {\n  const k = keys[i & 1023]\n  s += BODY\n}\nreturn s'
const loop = (body: string, bindings: Record<string, unknown>) => compileLoop(bindings, LOOP.replace('BODY', body))

/** S1: sync hit, one number argument, memory, 128 hot keys. */
export const s1: Scenario = {
  id: 'S1',
  title: 'sync hit, one number argument, in memory, 128 hot keys (baseline: Map.get)',
  async run(cfg, log) {
    const keys = hotKeys(HOT)
    const fn = (n: number): number => n * 2 + 1
    const expected = Array.from({ length: HOT }, (_, i) => fn(i))
    const probe = (name: string, f: (n: number) => number) => () => {
      assertSame(
        name,
        expected.map((_, i) => f(i)),
        expected,
      )
    }

    const map = new Map<number, number>()
    for (let i = 0; i < HOT; i++) map.set(i, fn(i))
    const baseline: Contender = {
      name: 'Map.get',
      loop: loop('map.get(k)', { keys, map }),
      check: probe('Map.get', (n) => map.get(n) as number),
    }

    const lru = new LRUCache<number, number>({ max: 10_000 })
    const lruGet = (n: number): number => {
      let v = lru.get(n)
      if (v === undefined) {
        v = fn(n)
        lru.set(n, v)
      }
      return v
    }
    const mzee = memoizee(fn, { primitive: true })
    const mize = memoize(fn)
    const moized = moize(fn, { maxSize: 256 })
    const contenders: Contender[] = [
      {
        name: 'lru-cache',
        note: 'get, set on miss; max 10k',
        loop: compileLoop(
          { keys, lru, fn },
          'let s = 0\nfor (let i = 0; i < n; i++) {\n  const k = keys[i & 1023]\n  let v = lru.get(k)\n  if (v === undefined) { v = fn(k); lru.set(k, v) }\n  s += v\n}\nreturn s',
        ),
        check: probe('lru-cache', lruGet),
      },
      {
        name: 'memoizee',
        note: 'primitive: true (unbounded)',
        loop: loop('mzee(k)', { keys, mzee }),
        check: probe('memoizee', mzee),
      },
      {
        name: 'memoize',
        note: 'defaults (unbounded Map)',
        loop: loop('mize(k)', { keys, mize }),
        check: probe('memoize', mize),
      },
      {
        name: 'moize',
        note: 'maxSize 256 (its default of 1 would miss every call)',
        loop: loop('moized(k)', { keys, moized }),
        check: probe('moize', moized),
      },
    ]

    const { variants, skipped, versusAll: versus } = await memokitVariants({ noChannels: true })
    const lines = [...skipped]
    for (const [i, { name, mk, current, versus: own }] of variants.entries()) {
      const cached = mk.cacheValue?.(fn, { storage: mk.memoryStorage(), name: 'bench.s1' }) as (n: number) => number
      contenders.push({
        name,
        note: 'cacheValue, memoryStorage()',
        ...(current ? { target: 0.3, versus } : {}),
        ...(own ? { versus: own } : {}),
        // Each variant's loop has its own source text, so no two share a call site's feedback.
        loop: loop(`cached${i}(k)`, { keys, [`cached${i}`]: cached }),
        check: probe(name, cached),
      })
    }

    const rows = await measure(cfg, baseline, contenders, log)
    return { id: 'S1', title: this.title, rows, lines }
  },
}
