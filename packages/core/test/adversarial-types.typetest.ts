// Adversarial type tests of the public surface (compiled by `pnpm typecheck`): what a wrapper's type says where the
// storage may be either kind, the `this` a wrapped function needs, rest parameters, thenables, getters. The
// `this` and the maybe-async storage sections failed before the changes committed with them.
import {
  type AnyStorage,
  type AsyncStorage,
  cacheClear,
  cached,
  cachedClear,
  cacheReference,
  cacheValue,
  createMemokit,
  type Storage,
} from '@memokit/core'
import { expectTypeOf } from 'expect-type'

declare const asyncStorage: AsyncStorage
declare const syncStorage: Storage
declare const anyStorage: AnyStorage

function add(a: number, b: number): number {
  return a + b
}

// 1. A storage that may be either kind: the wrapper's results are either, never claimed sync.
const either = cacheValue(add, { storage: anyStorage })
expectTypeOf(either(1, 2)).toEqualTypeOf<number | Promise<number>>()
expectTypeOf(either.delete(1, 2)).toEqualTypeOf<boolean | Promise<boolean>>()
// createMemokit over an async default with `storage: undefined` per call: the process-wide memory storage (cacheValue)
// or per-instance memory tables (@cached) at run time, so sync; without the key, the default's async type.
const remote = createMemokit({ storage: asyncStorage })
expectTypeOf(remote.cacheValue(add, { storage: undefined })(1, 2)).toEqualTypeOf<number>()
expectTypeOf(remote.cacheValue(add, { storage: undefined, ttl: '1m' }).delete(1, 2)).toEqualTypeOf<boolean>()
expectTypeOf(remote.cacheValue(add, { ttl: '1m' })(1, 2)).toEqualTypeOf<Promise<number>>()
class PerInstance {
  @remote.cached({ storage: undefined })
  m(): number {
    return 1
  }
  // @ts-expect-error without `storage: undefined`, the default async storage: a sync method can't be decorated
  @remote.cached({ instanceKey: (self: PerInstance) => self.m() })
  n(): number {
    return 1
  }
}
expectTypeOf(new PerInstance().m()).toEqualTypeOf<number>()
// A decorated member over such a storage may become async, so it must return a Promise already.
class Maybe {
  readonly id = 'm'
  // @ts-expect-error the storage may be async: a sync method would start returning Promises its type hides
  @cached({ storage: anyStorage, instanceKey: (self: Maybe) => self.id })
  m(): number {
    return 1
  }
  // @ts-expect-error the same for @cachedClear
  @cachedClear({ storage: anyStorage, namespaces: 'x' })
  c(): number {
    return 1
  }
  @cached({ storage: anyStorage, instanceKey: (self: Maybe) => self.id })
  async a(): Promise<number> {
    return 1
  }
}
void Maybe

// 2. `this` is passed through to fn (not keyed): a wrapper of a function that needs one needs it too.
interface Ctx {
  base: number
}
function withThis(this: Ctx, x: number): number {
  return this.base + x
}
const wt = cacheValue(withThis)
// @ts-expect-error called without its `this`, fn would see undefined
wt(1)
expectTypeOf(wt.call({ base: 1 }, 2)).toEqualTypeOf<number>()
const holder = { base: 1, wt }
expectTypeOf(holder.wt(2)).toEqualTypeOf<number>()
// @ts-expect-error refresh passes its own `this` (the wrapper) to fn
wt.refresh(1)
expectTypeOf(wt.delete(1)).toEqualTypeOf<boolean>()
// @ts-expect-error the same for cacheReference
cacheReference(withThis)(1)
// @ts-expect-error and cacheClear
cacheClear(withThis, { namespaces: 'n' })(1)
// Without a `this` parameter nothing changes: a plain call, and a plain function type takes the wrapper.
const plain: (a: number, b: number) => number = cacheValue(add)
void plain

// 3. Rest and optional parameters reach the helpers.
const rest = cacheValue((a: string, ...more: number[]) => a + more.length)
expectTypeOf(rest).parameters.toEqualTypeOf<[a: string, ...more: number[]]>()
expectTypeOf(rest.keyFor).parameters.toEqualTypeOf<[a: string, ...more: number[]]>()
expectTypeOf(rest.delete).parameters.toEqualTypeOf<[a: string, ...more: number[]]>()
// @ts-expect-error delete takes fn's parameters
rest.delete(1)
const conn = cacheReference(async (url: string, port?: number) => ({ url, port }))
expectTypeOf(conn('x')).toEqualTypeOf<Promise<{ url: string; port: number | undefined }>>()
expectTypeOf(conn.keyFor).parameters.toEqualTypeOf<[url: string, port?: number]>()

// 4. A thenable result is typed as the Promise the wrapper returns; a result that is sometimes a Promise stays so.
expectTypeOf(cacheValue((x: number): PromiseLike<number> => Promise.resolve(x))(1)).toEqualTypeOf<Promise<number>>()
const mixed = cacheValue((x: number): number | Promise<number> => (x > 0 ? x : Promise.resolve(x)))
expectTypeOf(mixed(1)).toEqualTypeOf<number | Promise<number>>()
expectTypeOf(mixed.refresh(1)).toEqualTypeOf<number | Promise<number>>()

// 5. Decorated getters and static methods keep their types over each kind of storage.
class Svc {
  readonly id = 's'
  @cached({ storage: asyncStorage, instanceKey: (self: Svc) => self.id })
  get lazy(): Promise<number> {
    return Promise.resolve(1)
  }
  @cached({ storage: syncStorage, instanceKey: (self: Svc) => self.id })
  opt(a: number, b?: string): string {
    return `${a}${b}`
  }
  @cached({ storage: asyncStorage })
  static stat(x: number): Promise<number> {
    return Promise.resolve(x)
  }
}
expectTypeOf(new Svc().lazy).toEqualTypeOf<Promise<number>>()
expectTypeOf(new Svc().opt).parameters.toEqualTypeOf<[a: number, b?: string]>()
expectTypeOf(Svc.stat(1)).toEqualTypeOf<Promise<number>>()
