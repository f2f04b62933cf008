import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import {
  ConfigError,
  cached,
  cachedClear,
  createMemokit,
  KeyError,
  memoryStorage,
  type Storage,
  UsageError,
} from '@memokit/core'
import { configError, faultyStorage, flush, uniqueNamespace } from './helpers'

afterEach(() => {
  jest.useRealTimers()
})

/** A real memory storage that also records the keys written (spread: the fast path then uses these methods). */
function recordingStorage(): { storage: Storage; keys: string[] } {
  const inner = memoryStorage()
  const keys: string[] = []
  const storage: Storage = {
    ...inner,
    set(namespace, key, value, options) {
      keys.push(key)
      inner.set(namespace, key, value, options)
    },
  }
  return { storage, keys }
}

describe('@cached without a storage: entries per instance', () => {
  it('caches per instance: a second instance computes its own result, a sync method stays sync', () => {
    const loads: string[] = []
    class Prices {
      constructor(readonly currency: string) {}
      @cached()
      price(item: string): string {
        loads.push(`${this.currency}:${item}`)
        return `${item} in ${this.currency}`
      }
    }
    const eur = new Prices('EUR')
    const usd = new Prices('USD')
    expect(eur.price('tea')).toBe('tea in EUR')
    expect(eur.price('tea')).toBe('tea in EUR')
    // Not encoded in the key, yet not shared: usd has its own table.
    expect(usd.price('tea')).toBe('tea in USD')
    expect(loads).toEqual(['EUR:tea', 'USD:tea'])
  })

  it('runs an async method once for concurrent calls and returns Promises', async () => {
    let runs = 0
    class Repo {
      @cached({ ttl: '1m' })
      async find(id: number): Promise<{ id: number }> {
        runs++
        await flush()
        return { id }
      }
    }
    const repo = new Repo()
    const [a, b] = await Promise.all([repo.find(1), repo.find(1)])
    expect(a).toEqual({ id: 1 })
    expect(b).toBe(a)
    expect(repo.find(1)).toBeInstanceOf(Promise)
    await repo.find(1)
    expect(runs).toBe(1)
  })

  it('expires entries after ttl (fake clock)', () => {
    jest.useFakeTimers({ now: 1_000 })
    let runs = 0
    class Clock {
      @cached({ ttl: '5s' })
      tick(): number {
        return ++runs
      }
    }
    const clock = new Clock()
    expect(clock.tick()).toBe(1)
    jest.advanceTimersByTime(4_999)
    expect(clock.tick()).toBe(1)
    jest.advanceTimersByTime(1)
    expect(clock.tick()).toBe(2)
  })

  it('holds no strong reference to the instance: it is collected with its entries', async () => {
    // A WeakMap keyed by the instance holds its table; forcing a full GC shows nothing else keeps it.
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    class Heavy {
      readonly payload = new Array(1000).fill(0)
      @cached()
      self(): Heavy {
        return this // an entry referencing the instance must not keep it alive either
      }
    }
    const ref = (() => {
      const heavy = new Heavy()
      heavy.self()
      return new WeakRef(heavy)
    })()
    await flush() // WeakRef targets stay alive until the current job ends
    gc()
    expect(ref.deref()).toBeUndefined()
  })

  it('names entries ClassName.method by default (seen in key errors)', () => {
    class Inventory {
      @cached()
      count(_filter: unknown): number {
        return 1
      }
    }
    const error = (() => {
      try {
        new Inventory().count(() => 1)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(KeyError)
    expect((error as KeyError).functionName).toBe('Inventory.count')
  })

  it('caches getters per instance', () => {
    let runs = 0
    class Config {
      constructor(readonly env: string) {}
      @cached()
      get settings(): { env: string } {
        runs++
        return { env: this.env }
      }
    }
    const prod = new Config('prod')
    expect(prod.settings).toBe(prod.settings)
    expect(new Config('dev').settings).toEqual({ env: 'dev' })
    expect(runs).toBe(2)
  })

  it('caches static methods per class (a subclass has its own entries)', () => {
    const calls: string[] = []
    // biome-ignore lint/complexity/noStaticOnlyClass: static members are what is tested
    class Base {
      static label = 'base'
      @cached()
      static describe(n: number): string {
        // biome-ignore lint/complexity/noThisInStatic: `this` is the receiving class, which must key the entries
        calls.push(`${this.label}:${n}`)
        // biome-ignore lint/complexity/noThisInStatic: as above
        return `${this.label} ${n}`
      }
    }
    class Derived extends Base {
      static override label = 'derived'
    }
    expect(Base.describe(1)).toBe('base 1')
    expect(Base.describe(1)).toBe('base 1')
    expect(Derived.describe(1)).toBe('derived 1')
    expect(calls).toEqual(['base:1', 'derived:1'])
  })

  it('caches private methods, and same-named private methods of a hierarchy stay apart', () => {
    class Base {
      @cached()
      #load(n: number): string {
        return `base ${n}`
      }
      base(n: number): string {
        return this.#load(n)
      }
    }
    class Derived extends Base {
      @cached()
      #load(n: number): string {
        return `derived ${n}`
      }
      derived(n: number): string {
        return this.#load(n)
      }
    }
    const d = new Derived()
    expect([d.base(1), d.derived(1), d.base(1), d.derived(1)]).toEqual(['base 1', 'derived 1', 'base 1', 'derived 1'])
  })

  it('throws a UsageError when called without an instance', () => {
    class Svc {
      @cached()
      get1(): number {
        return 1
      }
    }
    const unbound = new Svc().get1
    expect(() => unbound()).toThrow(UsageError)
    expect(() => unbound()).toThrow(/without an instance.*bind it/)
  })
})

describe('@cachedClear', () => {
  it('without a storage, clears only the receiving instance, after the write settles', async () => {
    const namespace = uniqueNamespace('users')
    const db = new Map([[1, 'ada']])
    class Users {
      @cached({ namespace })
      name(id: number): string | undefined {
        return db.get(id)
      }
      @cachedClear({ namespaces: namespace })
      async rename(id: number, name: string): Promise<void> {
        await flush()
        db.set(id, name)
      }
    }
    const a = new Users()
    const b = new Users()
    expect([a.name(1), b.name(1)]).toEqual(['ada', 'ada'])
    const write = a.rename(1, 'grace')
    expect(a.name(1)).toBe('ada') // not cleared before the write settles
    await write
    expect(a.name(1)).toBe('grace')
    expect(b.name(1)).toBe('ada') // b's entries are its own
  })

  it('clears after a failed sync write too and rethrows its error; an instance with nothing cached is fine', () => {
    const namespace = uniqueNamespace('n')
    let value = 1
    class Counter {
      @cached({ namespace })
      read(): number {
        return value
      }
      @cachedClear({ namespaces: [namespace] })
      failingBump(): void {
        value++
        throw new Error('write failed after the change')
      }
    }
    expect(() => new Counter().failingBump()).toThrow('write failed') // no table yet: nothing to clear
    const c = new Counter()
    expect(c.read()).toBe(2)
    expect(() => c.failingBump()).toThrow('write failed')
    expect(c.read()).toBe(3)
  })

  it('with a storage, clears the namespace for every instance', async () => {
    const { storage } = faultyStorage(true)
    const namespace = uniqueNamespace('t')
    const db = new Map([['t1', 'v1']])
    class Tenant {
      constructor(readonly id: string) {}
      @cached({ storage, namespace, instanceKey: (self: Tenant) => self.id })
      async read(): Promise<string | undefined> {
        return db.get(this.id)
      }
      @cachedClear({ storage, namespaces: namespace })
      async write(v: string): Promise<void> {
        db.set(this.id, v)
      }
    }
    const a = new Tenant('t1')
    const b = new Tenant('t1')
    expect(await a.read()).toBe('v1')
    await b.write('v2')
    expect(await a.read()).toBe('v2')
  })

  it('rejects bad options where the class is defined, with cacheClear rules', () => {
    expect(() => cachedClear({ namespaces: [] })).toThrow(ConfigError)
    expect(() => cachedClear({ namespaces: 'x', failOpn: true } as never)).toThrow(
      /@cachedClear: unknown option 'failOpn'.*failOpen/,
    )
  })
})

describe('@cached over a shared storage', () => {
  it('needs instanceKey on instance methods: a ConfigError where the class is defined', () => {
    const storage = memoryStorage()
    const define = () => {
      class Svc {
        @cached({ storage })
        find(): number {
          return 1
        }
      }
      return Svc
    }
    expect(define).toThrow(ConfigError)
    expect(define).toThrow(/per instance by default.*instanceKey: \(self: YourClass\) => self\.id/)
  })

  it('keys by instanceKey: instances with the same id share entries, others do not; the name is ClassName.method', () => {
    const { storage, keys } = recordingStorage()
    const namespace = uniqueNamespace('tenants')
    const runs: string[] = []
    class TenantRepo {
      constructor(readonly tenantId: string) {}
      @cached({ storage, namespace, instanceKey: (self: TenantRepo) => self.tenantId })
      plan(userId: number): string {
        runs.push(`${this.tenantId}/${userId}`)
        return `${this.tenantId}:${userId}`
      }
    }
    expect(new TenantRepo('acme').plan(1)).toBe('acme:1')
    expect(new TenantRepo('acme').plan(1)).toBe('acme:1')
    expect(new TenantRepo('globex').plan(1)).toBe('globex:1')
    expect(runs).toEqual(['acme/1', 'globex/1'])
    expect(keys).toHaveLength(2)
    expect(keys.every((k) => k.startsWith('TenantRepo.plan:'))).toBe(true)
    expect(keys[0]).toContain('acme')
  })

  it('names an inherited method after the class that declares it', () => {
    const { storage, keys } = recordingStorage()
    class BaseRepo {
      constructor(readonly id: string) {}
      @cached({ storage, instanceKey: (self: BaseRepo) => self.id })
      find(n: number): number {
        return n
      }
    }
    class SpecialRepo extends BaseRepo {}
    new SpecialRepo('x').find(1)
    expect(keys[0]?.startsWith('BaseRepo.find:')).toBe(true)
  })

  it('shares entries between replicas (two module instances, one storage)', () => {
    const { storage } = recordingStorage()
    const namespace = uniqueNamespace('replicas')
    let runs = 0
    const replica = (): ((id: string) => number) => {
      let read: (id: string) => number = () => 0
      jest.isolateModules(() => {
        const core = require('@memokit/core') as typeof import('@memokit/core')
        class Catalog {
          constructor(readonly shop: string) {}
          @core.cached({ storage, namespace, instanceKey: (self: Catalog) => self.shop })
          size(): number {
            return ++runs
          }
        }
        read = (id) => new Catalog(id).size()
      })
      return read
    }
    const [one, two] = [replica(), replica()]
    expect(one('s1')).toBe(1)
    expect(two('s1')).toBe(1)
    expect(two('s2')).toBe(2)
  })

  it('refuses two classes of the same name over one storage when the second is constructed (the duplicate-name guard)', () => {
    const storage = memoryStorage()
    const instanceKey = (self: { shop: string }) => self.shop
    // Two declarations, not one class factory called twice: swc (this suite's compiler) shares one class's member
    // initializers between two evaluations of the same class expression; tsc and esbuild don't.
    const First = (() => {
      class Orders {
        readonly shop = 's'
        @cached({ storage, instanceKey })
        count(): number {
          return 1
        }
      }
      return Orders
    })()
    const Second = (() => {
      class Orders {
        readonly shop = 's'
        @cached({ storage, instanceKey })
        count(): number {
          return 2
        }
      }
      return Orders
    })()
    expect(new First().count()).toBe(1)
    expect(() => new Second()).toThrow(/two function objects are both named 'Orders\.count'/)
  })

  it('passes key and ignoreArgs the method arguments only', () => {
    const { storage, keys } = recordingStorage()
    class Q {
      constructor(readonly id: string) {}
      @cached({ storage, name: 'Q.byUser', instanceKey: (self: Q) => self.id, key: (user: { id: number }) => user.id })
      byUser(user: { id: number; at: Date }): number {
        return user.id
      }
      @cached({ storage, instanceKey: (self: Q) => self.id, ignoreArgs: [1] })
      withLogger(n: number, _log: () => void): number {
        return n
      }
    }
    const q = new Q('q1')
    q.byUser({ id: 7, at: new Date() })
    expect(q.byUser({ id: 7, at: new Date() })).toBe(7)
    q.withLogger(3, () => {})
    expect(q.withLogger(3, () => {})).toBe(3)
    expect(keys).toHaveLength(2)
  })

  it('rejects an instanceKey that returns no usable id, with a KeyError (a rejection for async)', async () => {
    const { storage } = faultyStorage(true)
    class Bad {
      id: string | undefined
      @cached({ storage, instanceKey: (self: Bad) => self.id as string })
      async load(): Promise<number> {
        return 1
      }
    }
    await expect(new Bad().load()).rejects.toThrow(KeyError)
    await expect(new Bad().load()).rejects.toThrow(/instanceKey returned undefined/)
  })

  it('works on static methods without instanceKey (the class is the instance)', async () => {
    const { storage } = faultyStorage(true)
    let runs = 0
    // biome-ignore lint/complexity/noStaticOnlyClass: static members are what is tested
    class Rates {
      @cached({ storage, ttl: '1m' })
      static async today(): Promise<number> {
        return ++runs
      }
    }
    expect(await Rates.today()).toBe(1)
    expect(await Rates.today()).toBe(1)
  })

  it('asks for a name on private methods (their class is not found at runtime), and works with one', () => {
    const storage: Storage = memoryStorage()
    expect(() => {
      class P {
        @cached({ storage, instanceKey: () => 'one' })
        // biome-ignore lint/correctness/noUnusedPrivateClassMembers: decorating it is what throws
        #m(): number {
          return 1
        }
      }
      return P
    }).toThrow(/private '#m'.*pass a `name`/)
    class P2 {
      @cached({ storage, name: 'P2.m', instanceKey: () => 'one' })
      #m(): number {
        return 1
      }
      m(): number {
        return this.#m()
      }
    }
    expect(new P2().m()).toBe(1)
  })
})

describe('@cached options and placement', () => {
  it('checks options where the class is defined, naming the decorator', () => {
    expect(() => cached({ tll: '5m' } as never)).toThrow(/@cached: unknown option 'tll' \(did you mean 'ttl'\?\)/)
    expect(() => cached({ ttl: 'soon' as never })).toThrow(ConfigError)
    expect(() => cached({ swr: '1m' })).toThrow(/^@cached: swr needs a ttl/)
    expect(() => cached('users' as never)).toThrow(/@cached: options must be an object/)
    expect(() => cached({ instanceKey: () => 'x' })).toThrow(/instanceKey shares entries .* none was given/)
  })

  it('refuses stats: true before anything is created (a decorated method has no .stats()), naming the alternatives', () => {
    const error = configError(() => cached({ stats: true as never }))
    expect(error).toMatchObject({ option: 'stats', code: 'E_CONFIG' })
    expect(error.message).toMatch(/^@cached: stats .*memokit:call .*cacheValue\(fn, \{ stats: true \}\)/)
    // Thrown by cached(options) itself, so no method is decorated and no namespace declared, over a storage too.
    const storage: Storage = memoryStorage()
    expect(() => cached({ storage, instanceKey: () => 'x', stats: true as never })).toThrow(/^@cached: stats/)
    // A createMemokit default is for its cacheValue wrappers: its cached leaves it out, so cached() works, while
    // the same default's cacheValue does count.
    const memokit = createMemokit({ stats: true })
    const counting = memokit.cacheValue((n: number) => n, { name: 'cached.stats-default' })
    counting(1)
    counting(1)
    expect(counting.stats()).toMatchObject({ hits: 1, misses: 1 })
    expect(() => memokit.cached({ stats: true as never })).toThrow(/^@cached: stats/)
    class Counted {
      runs = 0
      @memokit.cached()
      a(n: number): number {
        return n + ++this.runs
      }
      @cached({ stats: false as never })
      b(n: number): number {
        return n + ++this.runs
      }
    }
    const counted = new Counted()
    expect([counted.a(1), counted.a(1), counted.b(1), counted.b(1)]).toEqual([2, 2, 3, 3])
  })

  it('refuses setters, fields and accessors with a ConfigError', () => {
    const decorate = cached() as unknown as (target: unknown, context: unknown) => void
    expect(() => {
      class S {
        @decorate
        set v(_x: number) {}
      }
      return S
    }).toThrow(/@cached decorates methods and getters, not a setter \('v'\)/)
    expect(() => {
      class F {
        @decorate
        f = () => 1
      }
      return F
    }).toThrow(/not a field.*cacheValue/)
    expect(() => {
      class A {
        @decorate
        accessor a = 1
      }
      return A
    }).toThrow(/not an accessor/)
  })

  it('explains a legacy (experimentalDecorators) application', () => {
    const decorate = cached() as unknown as (target: object, key: string, descriptor: PropertyDescriptor) => unknown
    expect(() => decorate({}, 'find', { value: () => 1 })).toThrow(/experimentalDecorators/)
  })
})
