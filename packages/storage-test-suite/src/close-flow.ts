/**
 * A storage's `close()` against core's background work: a `cacheClear` whose clear failed (the server unreachable)
 * is retried by core for about two minutes, unless the storage closes. `close()` calls `storageClosed` from
 * `@memokit/core/backend` first, which ends those retries (reported once as not retried): a closed storage can't
 * clear, and a retry through a client the user closed since would connect it again.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { type AsyncStorage, cacheClear, cacheValue, type ErrorReport } from '@memokit/core'
import type { TestRunner } from './types'

export interface CloseChecksOptions {
  /** Shown in the test names and expected at the start of the storage's failure messages, e.g. `'redis'`. */
  readonly name: string
  /** A loopback port where nothing listens (checked first): the storage's server, unreachable. */
  readonly port: number
  /**
   * A storage whose server is at `port` on 127.0.0.1, with operations bounded well under a second
   * (`operationTimeoutMs: 200`). The check closes it.
   */
  readonly open: (
    port: number,
  ) => (AsyncStorage & { close(): Promise<void> }) | Promise<AsyncStorage & { close(): Promise<void> }>
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const listening = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      done(true)
    })
    socket.once('error', () => done(false))
  })

/**
 * Registers the close checks for a storage with a `close()`.
 *
 * @example
 * runCloseChecks({ describe, it }, { name: 'redis', port: 21410, open: (port) => redisStorage({ url: `redis://127.0.0.1:${port}`, operationTimeoutMs: 200 }) })
 */
export function runCloseChecks(runner: TestRunner, options: CloseChecksOptions): void {
  const { name, port, open } = options
  runner.describe(`${name} close()`, () => {
    runner.it(
      'ends the background retries of a failed clear, reporting once that it was not retried',
      async () => {
        if (await listening(port)) throw new Error(`runCloseChecks: port ${port} is in use; pass a free one`)
        const storage = await open(port)
        const reports: ErrorReport[] = []
        cacheValue(async (n: number) => n, { storage, namespace: 'ns', name: 'ident', onError: () => {} })
        const save = cacheClear(async () => 'saved', { storage, namespaces: 'ns', onError: (r) => reports.push(r) })
        await save()
        assert.equal(reports.length, 1, 'the clear on an unreachable server failed and was reported')
        await storage.close()
        // Retries would have run 250 and 750 ms after the failure, each failing and reported.
        await sleep(1_000)
        const messages = reports.map((r) => r.error.message)
        assert.equal(messages.length, 2, `reports after close: ${JSON.stringify(messages)}`)
        assert.match(messages[0] as string, new RegExp(`^${name} clear `))
        assert.match(messages[1] as string, /clear of namespace 'ns' was not retried because the storage was closed/)
      },
      10_000,
    )
  })
}
