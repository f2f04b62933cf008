import { describe, expect, it, jest } from '@jest/globals'
import { ConfigError, cacheReference, KeyError, MemokitError, UsageError } from '@memokit/core'

class Client {
  closed = 0
  constructor(readonly url: string) {}
  close() {
    this.closed++
  }
}

describe('cacheReference', () => {
  it('returns the identical object for equal arguments, and a different one for other arguments', () => {
    const make = jest.fn((url: string, opts: { pool: number }) => new Client(`${url}?pool=${opts.pool}`))
    const client = cacheReference(make)
    const a = client('mongodb://a', { pool: 5 })
    expect(client('mongodb://a', { pool: 5 })).toBe(a)
    expect(client('mongodb://b', { pool: 5 })).not.toBe(a)
    expect(client('mongodb://a', { pool: 6 })).not.toBe(a)
    expect(make).toHaveBeenCalledTimes(3)
    expect(a).toBeInstanceOf(Client)
  })

  it('runs an async factory once for concurrent callers and hands all of them the same object', async () => {
    let runs = 0
    const connect = cacheReference(async (url: string) => {
      runs++
      await new Promise((resolve) => setTimeout(resolve, 5))
      return new Client(url)
    })
    const clients = await Promise.all(Array.from({ length: 50 }, () => connect('redis://x')))
    expect(runs).toBe(1)
    expect(new Set(clients).size).toBe(1)
    expect(connect('redis://x')).toBe(connect('redis://x'))
  })

  it('does not keep a failed init: the error reaches the callers and the next call retries', async () => {
    let attempt = 0
    const failure = new Error('refused')
    const connect = cacheReference(async (url: string) => {
      attempt++
      if (attempt === 1) throw failure
      return new Client(url)
    })
    await expect(connect('u')).rejects.toBe(failure)
    const client = await connect('u')
    expect(client).toBeInstanceOf(Client)
    expect(await connect('u')).toBe(client)
    expect(attempt).toBe(2)

    let syncAttempt = 0
    const make = cacheReference((url: string) => {
      syncAttempt++
      if (syncAttempt === 1) throw failure
      return new Client(url)
    })
    expect(() => make('v')).toThrow(failure)
    expect(make('v')).toBe(make('v'))
  })

  it('delete() and clear() drop references and call dispose exactly once per dropped object', async () => {
    const disposed: Client[] = []
    const client = cacheReference((url: string) => new Client(url), {
      dispose: (c) => {
        c.close()
        disposed.push(c)
      },
    })
    const a = client('a')
    const b = client('b')
    const c = client('c')
    expect(await client.delete('a')).toBe(true)
    expect(await client.delete('a')).toBe(false)
    expect(disposed).toEqual([a])
    const a2 = client('a')
    expect(a2).not.toBe(a)
    await client.clear()
    expect(new Set(disposed)).toEqual(new Set([a, b, c, a2]))
    expect(disposed).toHaveLength(4)
    for (const each of disposed) expect(each.closed).toBe(1)
    await client.clear()
    expect(disposed).toHaveLength(4)
  })

  it('delete() rejects with what dispose threw, unchanged; the object is dropped anyway and dispose not retried', async () => {
    class CloseFailed extends Error {}
    const failures = new Map<string, Error>([
      ['sync', new CloseFailed('sync close failed')],
      ['async', new CloseFailed('async close failed')],
    ])
    const dispose = jest.fn((c: Client) => {
      const failure = failures.get(c.url)
      if (c.url === 'async') return Promise.reject(failure)
      if (failure !== undefined) throw failure
    })
    const client = cacheReference((url: string) => new Client(url), { dispose })
    for (const url of ['sync', 'async']) {
      const first = client(url)
      const rejection = await client.delete(url).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(rejection).toBe(failures.get(url)) // the error itself: no AggregateError, no memokit wrapper
      expect(await client.delete(url)).toBe(false)
      expect(client(url)).not.toBe(first)
    }
    expect(dispose).toHaveBeenCalledTimes(2)
  })

  it('clear() disposes every object even when some fail, then rejects with one AggregateError of their errors', async () => {
    const failures = new Map<string, Error>([
      ['a', new Error('a failed')],
      ['c', new Error('c failed')],
    ])
    const dispose = jest.fn(async (c: Client) => {
      const failure = failures.get(c.url)
      if (failure !== undefined) throw failure
      c.close()
    })
    const client = cacheReference((url: string) => new Client(url), { dispose })
    const objects = ['a', 'b', 'c'].map((url) => client(url))
    const rejection = await client.clear().then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(rejection).toBeInstanceOf(AggregateError)
    const aggregate = rejection as AggregateError
    expect(aggregate.errors).toEqual([failures.get('a'), failures.get('c')]) // oldest object first
    expect(aggregate.errors[0]).toBe(failures.get('a'))
    expect(aggregate.message).toBe('cacheReference: dispose failed for 2 of 3 objects')
    expect(dispose.mock.calls.map(([c]) => c)).toEqual(objects)
    expect(objects[1]?.closed).toBe(1)
    expect(client('a')).not.toBe(objects[0]) // every object was dropped, the failed ones too
    failures.clear()
    await client.clear()
    expect(dispose).toHaveBeenCalledTimes(4) // only the new 'a': the failed disposes are not retried
  })

  it('disposes the resolved object of an async factory, and skips a failed one', async () => {
    const dispose = jest.fn(async (c: Client) => c.close())
    let fail = false
    const connect = cacheReference(
      async (url: string) => {
        if (fail) throw new Error('nope')
        return new Client(url)
      },
      { dispose },
    )
    const c = await connect('x')
    await connect.delete('x')
    expect(dispose).toHaveBeenCalledWith(c)
    fail = true
    const failed = connect('y')
    await expect(failed).rejects.toThrow('nope')
    await connect.clear()
    expect(dispose).toHaveBeenCalledTimes(1)
  })

  it('a factory may call other cacheReference functions and itself with other arguments', () => {
    const config = cacheReference((env: string) => ({ env, url: `db-${env}` }))
    const pool: (env: string, size: number) => { size: number; parent?: object } = cacheReference(
      (env: string, size: number): { size: number; parent?: object } =>
        size > 1 ? { size, parent: pool(env, size - 1) } : { size, parent: config(env) },
    )
    const p = pool('prod', 3)
    expect(p.parent).toBe(pool('prod', 2))
    expect(pool('prod', 1).parent).toBe(config('prod'))
  })

  it('a factory calling itself with the same arguments gets a UsageError instead of a stack overflow', () => {
    const loop: (n: number) => unknown = cacheReference(function connect(n: number): unknown {
      return loop(n)
    })
    let error: unknown
    try {
      loop(1)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(UsageError)
    expect(error).toBeInstanceOf(MemokitError)
    expect(error).not.toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ code: 'E_USAGE', name: 'UsageError', functionName: 'connect' })
    expect((error as Error).message).toMatch(/connect called itself with the same arguments.*recurse forever; /)
    // The failed creation is not kept, so the next call tries again (and fails the same way).
    expect(() => loop(1)).toThrow(UsageError)
  })

  it('options that are not an object are a ConfigError that suggests the object meant', () => {
    const make = (url: string) => new Client(url)
    expect(() => cacheReference(make, 'db' as never)).toThrow(ConfigError)
    expect(() => cacheReference(make, 'db' as never)).toThrow(
      'cacheReference: options must be an object, got "db"; did you mean cacheReference(fn, { name: "db" })?',
    )
    expect(() => cacheReference(make, null as never)).toThrow(/options must be an object, got null/)
    expect(() => cacheReference(make, { dispos: () => {} } as never)).toThrow(
      /unknown option 'dispos' \(did you mean 'dispose'\?\)/,
    )
    expect(() => cacheReference(make, { name: 'db\udc00' })).toThrow(/lone surrogate/)
  })

  it('uses the same key options as cacheValue', () => {
    class Conn {
      constructor(readonly id: string) {}
    }
    const byId = cacheReference((conn: Conn, table: string) => ({ table, conn: conn.id }), {
      typeEncoders: [[Conn, (c: Conn) => c.id]],
    })
    expect(byId(new Conn('1'), 't')).toBe(byId(new Conn('1'), 't'))
    const ignoring = cacheReference((name: string, _logger: Console) => ({ name }), { ignoreArgs: [1] })
    expect(ignoring('n', console)).toBe(ignoring('n', {} as Console))
    expect(() => cacheReference((c: Conn) => c)(new Conn('x'))).toThrow(KeyError)
    expect(() => cacheReference((n: number) => n, { dispose: 5 as never })).toThrow(ConfigError)
    expect(() => cacheReference((n: number) => n, { ttl: 5 } as never)).toThrow(ConfigError)
  })
})
