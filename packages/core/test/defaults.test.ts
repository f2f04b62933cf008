import { afterEach, describe, expect, it, jest } from '@jest/globals'
import {
  ConfigError,
  cacheValue,
  createMemokit,
  type ErrorReport,
  memoryStorage,
  resetDefaultStorage,
  StorageError,
} from '@memokit/core'
import { faultyStorage, flush, uniqueNamespace } from './helpers'

afterEach(() => {
  jest.useRealTimers()
})

describe('createMemokit', () => {
  it('applies storage and ttl to cacheValue and storage to cacheClear; a per-call option wins', () => {
    jest.useFakeTimers({ now: 1_000 })
    const storage = memoryStorage()
    const memokit = createMemokit({ storage, ttl: '1m' })
    const namespace = uniqueNamespace('users')
    let version = 1
    const load = jest.fn((id: number) => `${id}@${version}`)
    const getUser = memokit.cacheValue(load, { namespace })
    const getUserLonger = memokit.cacheValue((id: number) => `${id}@${version}`, {
      name: 'longer',
      namespace,
      ttl: '5m',
    })
    expect(getUser(1)).toBe('1@1')
    expect(getUserLonger(1)).toBe('1@1')
    expect(storage.get(namespace, getUser.keyFor(1))?.expiresAt).toBe(61_000) // the default storage and ttl
    version = 2
    jest.advanceTimersByTime(60_000)
    expect(getUser(1)).toBe('1@2')
    expect(getUserLonger(1)).toBe('1@1')
    // cacheClear gets the default storage, so it clears what the wrappers wrote.
    const bump = memokit.cacheClear(() => version++, { namespaces: namespace })
    bump()
    expect(getUserLonger(1)).toBe('1@3')
  })

  it('sends failures to the default onError, and a per-call onError replaces it', async () => {
    const { storage, failing } = faultyStorage(true)
    failing.add('get')
    const reports: string[] = []
    const memokit = createMemokit({
      storage,
      onError: (r: ErrorReport) => reports.push(`default:${r.op}`),
      circuitBreaker: false,
    })
    const a = memokit.cacheValue(async (n: number) => n, { name: 'a' })
    const b = memokit.cacheValue(async (n: number) => n, { name: 'b', onError: (r) => reports.push(`own:${r.op}`) })
    expect(await a(1)).toBe(1) // fail-open: fn ran
    expect(await b(1)).toBe(1)
    await flush()
    expect(reports).toEqual(['default:get', 'own:get'])
  })

  it('applies failOpen to cacheClear too', async () => {
    const { storage, failing } = faultyStorage(true)
    const reports: string[] = []
    const memokit = createMemokit({ storage, failOpen: false, onError: (r) => reports.push(r.op) })
    const namespace = uniqueNamespace('w')
    memokit.cacheValue(async () => 1, { name: 'inW', namespace })
    const write = memokit.cacheClear(async () => 'written', { namespaces: namespace })
    failing.add('clear')
    await expect(write()).rejects.toThrow(StorageError)
    expect(reports).toEqual(['clear'])
  })

  it('replaces object options whole (timeout, circuitBreaker), and an explicit undefined drops a default', () => {
    const memokit = createMemokit({ ttl: '1m', timeout: { soft: '1s', hard: '2s' } })
    // Merged, soft 1s would not be shorter than hard 500ms: a ConfigError. Replaced whole, it is valid.
    expect(() => memokit.cacheValue(async () => 1, { name: 'quick', timeout: { hard: '500ms' } })).not.toThrow()
    const storage = memoryStorage()
    const forever = createMemokit({ storage, ttl: '1m' }).cacheValue(() => 1, { name: 'forever', ttl: undefined })
    forever()
    expect(storage.get('default', forever.keyFor())?.expiresAt).toBeUndefined()
  })

  it('gives @cached and @cachedClear the defaults; a default storage then needs instanceKey', () => {
    jest.useFakeTimers({ now: 1_000 })
    const storage = memoryStorage()
    const memokit = createMemokit({ storage, ttl: '1m' })
    const namespace = uniqueNamespace('carts')
    let runs = 0
    class Carts {
      constructor(readonly shop: string) {}
      @memokit.cached({ namespace, instanceKey: (self: Carts) => self.shop })
      total(): number {
        return ++runs
      }
      @memokit.cachedClear({ namespaces: namespace })
      checkout(): void {}
    }
    const carts = new Carts('s1')
    expect([carts.total(), new Carts('s1').total()]).toEqual([1, 1])
    jest.advanceTimersByTime(60_000) // the default ttl
    expect(carts.total()).toBe(2)
    new Carts('other').checkout() // the default storage, shared by all instances
    expect(carts.total()).toBe(3)
    expect(() => memokit.cached({ namespace })((() => 1) as never, { kind: 'method', name: 'm' } as never)).toThrow(
      /per instance by default/,
    )
  })

  it('rejects bad defaults when created: per-function options, unknown options, bad values', () => {
    expect(() => createMemokit({ name: 'x' } as never)).toThrow(/'name' describes one function/)
    expect(() => createMemokit({ key: () => 1 } as never)).toThrow(ConfigError)
    expect(() => createMemokit({ ttll: '1m' } as never)).toThrow(
      /createMemokit: unknown option 'ttll' \(did you mean 'ttl'\?\)/,
    )
    expect(() => createMemokit({ ttl: 'soon' as never })).toThrow(/ttl "soon" is not a duration/)
    expect(() => createMemokit({ swr: '1m' })).toThrow(/^createMemokit: swr needs a ttl/)
    expect(() => createMemokit({ storage: {} as never })).toThrow(/createMemokit: storage must be a memokit storage/)
    expect(() => createMemokit('users' as never)).toThrow(/defaults must be an object/)
  })

  it("leaves a per-call value that isn't an options object to the wrapper's own check", () => {
    const memokit = createMemokit({ ttl: '1m' })
    expect(() => memokit.cacheValue(() => 1, 'users' as never)).toThrow(
      /did you mean cacheValue\(fn, \{ namespace: "users" \}\)/,
    )
  })
})

describe('resetDefaultStorage', () => {
  it('empties the process-wide default storage in place: existing wrappers compute again', () => {
    const load = jest.fn((n: number) => n * 2)
    const double = cacheValue(load, { name: 'double', namespace: uniqueNamespace('reset') })
    double(2)
    double(2)
    expect(load).toHaveBeenCalledTimes(1)
    resetDefaultStorage()
    double(2)
    expect(load).toHaveBeenCalledTimes(2)
  })

  it('keeps a computation running across the reset from storing its result', async () => {
    let value = 'old'
    let release: () => void = () => {}
    const load = jest.fn(async () => {
      const seen = value
      await new Promise<void>((resolve) => {
        release = resolve
      })
      return seen
    })
    const read = cacheValue(load, { name: 'slowRead', namespace: uniqueNamespace('reset') })
    const first = read()
    await flush()
    resetDefaultStorage()
    value = 'new'
    release()
    expect(await first).toBe('old') // its caller still gets it
    const second = read()
    await flush()
    release()
    expect(await second).toBe('new') // but it was not stored
  })
})
