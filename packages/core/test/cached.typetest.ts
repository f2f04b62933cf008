// Type tests of @cached, @cachedClear and createMemokit: compiled by `pnpm typecheck`; a wrong type fails the build.
import { type AsyncStorage, type CachedFunction, cached, cachedClear, createMemokit, type Storage } from '@memokit/core'
import { expectTypeOf } from 'expect-type'

declare const asyncStorage: AsyncStorage
declare const syncStorage: Storage

// 1. Without a storage (per-instance memory): a sync method stays sync; every member keeps its exact type.
class Prices {
  constructor(readonly currency: string) {}
  @cached({ ttl: '5m' })
  price(item: string, qty = 1): number {
    return item.length * qty
  }
  @cached()
  async fetch(id: number): Promise<{ id: number }> {
    return { id }
  }
  @cached()
  get rates(): Map<string, number> {
    return new Map()
  }
  @cached()
  static defaults(): string[] {
    return []
  }
  @cachedClear({ namespaces: 'prices' })
  reset(): void {}
}
const prices = new Prices('EUR')
expectTypeOf(prices.price).parameters.toEqualTypeOf<[item: string, qty?: number]>()
expectTypeOf(prices.price('tea')).toEqualTypeOf<number>()
expectTypeOf(prices.fetch(1)).toEqualTypeOf<Promise<{ id: number }>>()
expectTypeOf(prices.rates).toEqualTypeOf<Map<string, number>>()
expectTypeOf(Prices.defaults()).toEqualTypeOf<string[]>()
expectTypeOf(prices.reset()).toEqualTypeOf<void>()

// 2. A sync storage with instanceKey: still sync. instanceKey's `self` is the annotated class.
class Tenants {
  constructor(readonly tenantId: string) {}
  @cached({ storage: syncStorage, instanceKey: (self: Tenants) => self.tenantId })
  plan(): string {
    return 'free'
  }
}
expectTypeOf(new Tenants('t').plan()).toEqualTypeOf<string>()

// 3. An async storage: only members that return a Promise can be decorated (their type can't change to one).
class Remote {
  constructor(readonly id: number) {}
  @cached({ storage: asyncStorage, instanceKey: (self: Remote) => self.id })
  async load(): Promise<string> {
    return 'x'
  }
  // @ts-expect-error a sync method over an async storage would have to become async
  @cached({ storage: asyncStorage, instanceKey: (self: Remote) => self.id })
  loadSync(): string {
    return 'x'
  }
  // @ts-expect-error the same for a getter
  @cached({ storage: asyncStorage, instanceKey: (self: Remote) => self.id })
  get label(): string {
    return 'x'
  }
  @cachedClear({ storage: asyncStorage, namespaces: 'remote' })
  async save(): Promise<void> {}
  // @ts-expect-error clearing an async storage makes the method async
  @cachedClear({ storage: asyncStorage, namespaces: 'remote' })
  saveSync(): void {}
}
expectTypeOf(new Remote(1).load()).toEqualTypeOf<Promise<string>>()

// 4. instanceKey's `self` must be annotated, and must fit the class it decorates.
class Other {
  readonly code = 'o'
  // @ts-expect-error instanceKey takes a Tenants, this is an Other
  @cached({ storage: syncStorage, instanceKey: (self: Tenants) => self.tenantId })
  m(): number {
    return 1
  }
  @cached({
    storage: syncStorage,
    // @ts-expect-error `self` is unknown unless annotated: TypeScript can't infer it from the decorated class
    instanceKey: (self) => self.code,
  })
  n(): number {
    return 1
  }
  // @ts-expect-error instanceKey returns a string or a number
  @cached({ storage: syncStorage, instanceKey: (self: Other) => ({ code: self.code }) })
  p(): number {
    return 1
  }
}
void Other

// 5. createMemokit: the default storage decides sync/async; a per-call storage wins.
function add(a: number, b: number): number {
  return a + b
}
const local = createMemokit({ ttl: '5m' })
expectTypeOf(local.cacheValue(add)(1, 2)).toEqualTypeOf<number>()
expectTypeOf(local.cacheValue(add)).toEqualTypeOf<CachedFunction<[a: number, b: number], number, false>>()
const remote = createMemokit({ storage: asyncStorage, ttl: '5m' })
expectTypeOf(remote.cacheValue(add)(1, 2)).toEqualTypeOf<Promise<number>>()
expectTypeOf(remote.cacheValue(add, { storage: syncStorage })(1, 2)).toEqualTypeOf<number>()
expectTypeOf(remote.cacheClear(add, { namespaces: 'n' })(1, 2)).toEqualTypeOf<Promise<number>>()
class ViaMemokit {
  readonly id = 'v'
  @remote.cached({ instanceKey: (self: ViaMemokit) => self.id })
  async load(): Promise<number> {
    return 1
  }
  // @ts-expect-error the default storage is async
  @remote.cached({ instanceKey: (self: ViaMemokit) => self.id })
  loadSync(): number {
    return 1
  }
  @local.cached()
  loadLocal(): number {
    return 1
  }
}
expectTypeOf(new ViaMemokit().loadLocal()).toEqualTypeOf<number>()
// @ts-expect-error name describes one function: not a default
createMemokit({ name: 'x' })

// 6. stats: a decorated method has no .stats() to read, so the option is not in @cached's type (a ConfigError at
// runtime), directly or through createMemokit; createMemokit's cached leaves a default stats out.
// @ts-expect-error stats is not a @cached option
cached({ stats: true })
// @ts-expect-error nor through createMemokit
local.cached({ stats: true })
createMemokit({ stats: true }).cached()
createMemokit({ stats: true }).cached({ stats: undefined })
