/**
 * Core's lease flow over one storage, with replicas simulated in one process: `singleFlight: 'distributed'` runs
 * `fn` once across them, and a delete on one replica while another computes keeps the overtaken result out. The
 * contract's lease group checks the members one by one; this checks that core, driving them, gets what it needs.
 */
import assert from 'node:assert/strict'
import { type AsyncStorage, cacheValue } from '@memokit/core'
import type { TestRunner } from './types'

export interface LeaseFlowOptions {
  /** Shown in the test names, e.g. `'mongodb'`. */
  readonly name: string
  /**
   * `count` storages on one shared place (one prefix, each with its own connection), standing for replicas. Give
   * each a view without `scope`, so core treats each as its own replica. The caller closes them.
   */
  readonly replicas: (count: number) => AsyncStorage[] | Promise<AsyncStorage[]>
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// Long enough for a loaded machine: the leases themselves live 10 s (core's default).
const TIMEOUT_MS = 20_000

/**
 * Registers the lease flow checks for a storage with leases.
 *
 * @example
 * runLeaseFlowChecks({ describe, it }, { name: 'redis', replicas: (n) => open(n) })
 */
export function runLeaseFlowChecks(runner: TestRunner, options: LeaseFlowOptions): void {
  const { name, replicas } = options
  runner.describe(`${name} with singleFlight: 'distributed'`, () => {
    runner.it(
      'runs fn once for 3 replicas x 20 concurrent callers; every caller gets its value',
      async () => {
        let runs = 0
        const fn = async (id: number) => {
          runs++
          await sleep(200)
          return { id, run: runs }
        }
        const wrappers = (await replicas(3)).map((storage) =>
          cacheValue(fn, { storage, namespace: 'flight', name: 'load', ttl: '1m', singleFlight: 'distributed' }),
        )
        const results = await Promise.all(wrappers.flatMap((cached) => Array.from({ length: 20 }, () => cached(7))))
        assert.equal(runs, 1)
        for (const result of results) assert.deepEqual(result, { id: 7, run: 1 })
      },
      TIMEOUT_MS,
    )

    runner.it(
      'a delete on replica B while A computes keeps A’s result out: the next read computes again',
      async () => {
        let runs = 0
        const fn = async (id: number) => {
          runs++
          await sleep(150)
          return { id, run: runs }
        }
        const pair = (await replicas(2)).map((storage) =>
          cacheValue(fn, { storage, namespace: 'flight', name: 'fenced', ttl: '1m', singleFlight: 'distributed' }),
        )
        const [a, b] = pair as [(typeof pair)[number], (typeof pair)[number]]
        const computing = a(5)
        // Once fn runs, A holds the lease. A delete before that (a slow read or acquire on a loaded machine) would
        // rightly let A's result in: fn read its data after the delete.
        while (runs === 0) await sleep(5)
        await sleep(20)
        await b.delete(5)
        assert.deepEqual(await computing, { id: 5, run: 1 })
        assert.deepEqual(await b(5), { id: 5, run: 2 })
        assert.deepEqual(await a(5), { id: 5, run: 2 })
        assert.equal(runs, 2)
      },
      TIMEOUT_MS,
    )
  })
}
