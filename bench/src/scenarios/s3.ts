import { LRUCache } from 'lru-cache'
import memoize from 'memoize'
import { type Contender, compileLoop, measure } from '../harness'
import { memokitVariants } from '../memokit'
import { acdMemory, bentoMemory, cacheManagerMemory, cachifiedMemory } from './peers'
import { gated, STALE, STALE_NOTE, SWR_FRESH, SWR_FRESH_NOTE, swrUnsupported } from './stale'
import { assertSame, hotKeys, type Scenario } from './types'

const HOT = 128
// Sequential awaits: the cost of one hit, including the promise machinery each library adds.
const LOOP = 'let s = 0\nfor (let i = 0; i < n; i++) {\n  const k = keys[i & 1023]\n  s += (await BODY).id\n}\nreturn s'
const loop = (body: string, bindings: Record<string, unknown>) =>
  compileLoop(bindings, LOOP.replace('BODY', body), 'async')

interface User {
  readonly id: number
}

/** S3: async hit in memory. */
export const s3: Scenario = {
  id: 'S3',
  title: 'async hit in memory, 128 hot keys, one call in flight (baseline: await map.get)',
  async run(cfg, log) {
    const keys = hotKeys(HOT)
    const fn = async (n: number): Promise<User> => ({ id: n })
    const expected = Array.from({ length: HOT }, (_, i) => ({ id: i }))
    const probe = (name: string, f: (n: number) => Promise<User> | User | undefined) => async () => {
      const got: unknown[] = []
      // Twice: the first pass fills the cache, the second must read the same values back.
      for (let pass = 0; pass < 2; pass++) {
        got.length = 0
        for (let i = 0; i < HOT; i++) got.push(await f(i))
      }
      assertSame(name, got, expected)
    }

    const map = new Map<number, User>()
    for (let i = 0; i < HOT; i++) map.set(i, { id: i })
    const baseline: Contender = {
      name: 'await map.get',
      loop: loop('map.get(k)', { keys, map }),
      check: probe('await map.get', (n) => map.get(n)),
    }

    const lru = new LRUCache<number, User>({ max: 10_000, fetchMethod: (n) => fn(n) })
    const mize = memoize(fn)
    const acd = acdMemory(fn)
    const cm = cacheManagerMemory(fn)
    const cf = cachifiedMemory(fn)
    const bento = bentoMemory(fn)
    const contenders: Contender[] = [
      {
        name: 'lru-cache fetch',
        note: 'fetchMethod; max 10k',
        loop: loop('lru.fetch(k)', { keys, lru }),
        check: probe('lru-cache', (n) => lru.fetch(n) as Promise<User>),
      },
      {
        name: 'memoize',
        note: 'caches the promise',
        loop: loop('mize(k)', { keys, mize }),
        check: probe('memoize', mize),
      },
      {
        name: 'async-cache-dedupe',
        note: 'memory storage, ttl 1 h',
        loop: loop('acd(k)', { keys, acd }),
        check: probe('async-cache-dedupe', acd),
      },
      {
        name: 'cache-manager',
        note: "wrap('user:' + n), default Keyv Map store",
        loop: loop('cm(k)', { keys, cm }),
        check: probe('cache-manager', cm),
      },
      {
        name: 'cachified',
        note: "cache: new Map(), key 'user:' + n",
        loop: loop('cf(k)', { keys, cf }),
        check: probe('cachified', cf),
      },
      {
        name: 'bentocache',
        note: 'getOrSet, memory L1 only',
        loop: loop('bento(k)', { keys, bento: bento.call }),
        check: probe('bentocache', bento.call),
      },
    ]

    const { variants, skipped, versusAll: versus } = await memokitVariants({ noChannels: true })
    const lines = [...skipped]
    for (const { name, mk, current, versus: own } of variants) {
      const cached = mk.cacheValue?.(fn, { storage: mk.memoryStorage(), name: 'bench.s3' }) as typeof fn
      contenders.push({
        name,
        note: 'cacheValue(async fn), memoryStorage()',
        ...(current ? { target: 0.7, versus } : {}),
        ...(own ? { versus: own } : {}),
        // Each variant's loop has its own source text, so the two never share a call site's feedback.
        loop: current ? loop('cached(k)', { keys, cached }) : loop('cachedBefore(k)', { keys, cachedBefore: cached }),
        check: probe(name, cached),
      })
    }

    const stale = gated(fn)
    const current = variants.find((v) => v.current)?.mk
    const unsupported = current ? swrUnsupported(current) : 'no current memokit'
    if (current?.cacheValue && unsupported === undefined) {
      const storage = () => current.memoryStorage()
      const swrFresh = current.cacheValue(fn, { storage: storage(), name: 'bench.s3', ...SWR_FRESH }) as typeof fn
      const staleHit = current.cacheValue(stale.load, { storage: storage(), name: 'bench.s3', ...STALE }) as typeof fn
      contenders.push(
        {
          name: 'memokit, swr on, fresh hit',
          note: SWR_FRESH_NOTE,
          loop: loop('swrFresh(k)', { keys, swrFresh }),
          check: probe('memokit, swr on, fresh hit', swrFresh),
        },
        {
          name: 'memokit, stale hit',
          note: STALE_NOTE,
          loop: loop('staleHit(k)', { keys, staleHit }),
          check: async () => {
            for (let i = 0; i < HOT; i++) await staleHit(i)
            await stale.hold()
            await probe('memokit, stale hit', staleHit)()
          },
        },
      )
    } else lines.push(`swr rows skipped: ${unsupported}`)

    try {
      const rows = await measure(cfg, baseline, contenders, log)
      return { id: 'S3', title: this.title, rows, lines }
    } finally {
      await bento.close()
    }
  },
}
