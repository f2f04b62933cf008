/**
 * The storage contract suite: registers, with any test runner, the tests every memokit storage must pass. The
 * tests live in `groups/`, one module per part of the contract, over the shared {@link Suite} of `harness.ts`.
 */

import { deleteTests, readWriteTests, shapeTests } from './groups/basics'
import { clearTests, prefixTests } from './groups/clear'
import { closeTests, concurrencyTests, orderingTests } from './groups/concurrency'
import { addTests, ttlTests } from './groups/expiry'
import { getThenTests } from './groups/get-then'
import { leaseTests } from './groups/leases'
import { metaTests } from './groups/meta'
import { scopeTests } from './groups/scope'
import { getManyTests, tagTests } from './groups/tags'
import { createSuite } from './harness'
import type { StorageContractOptions, TestRunner } from './types'

export { type CloseChecksOptions, runCloseChecks } from './close-flow'
export { type FakeTimersChecksOptions, runFakeTimersChecks } from './fake-timers'
export { type LeaseFlowOptions, runLeaseFlowChecks } from './lease-flow'
export type { ScopeCheckOptions, StorageContractOptions, StorageFactory, TestRunner } from './types'

const isFactory = (value: unknown): boolean => value === undefined || typeof value === 'function'

function checkOptions(options: StorageContractOptions): void {
  const { name, create, ttlGranularityMs = 1, advanceTime, scope } = options
  if (typeof name !== 'string' || name === '') throw new TypeError('runStorageContract: name must be a string')
  if (typeof create !== 'function') throw new TypeError('runStorageContract: create must be a function')
  if (!(Number.isFinite(ttlGranularityMs) && ttlGranularityMs >= 1)) {
    throw new TypeError(`runStorageContract: ttlGranularityMs must be a number >= 1 (ms), got ${ttlGranularityMs}`)
  }
  if (advanceTime !== undefined && typeof advanceTime !== 'function') {
    throw new TypeError('runStorageContract: advanceTime must be a function (ms) => void | Promise<void>')
  }
  for (const flag of ['leases', 'getThen'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new TypeError(`runStorageContract: ${flag} must be a boolean, got ${String(options[flag])}`)
    }
  }
  if (scope !== undefined) {
    if (typeof scope !== 'object' || scope === null) {
      throw new TypeError('runStorageContract: scope must be an object { createSame?, createElsewhere?, secrets? }')
    }
    if (!isFactory(scope.createSame) || !isFactory(scope.createElsewhere)) {
      throw new TypeError('runStorageContract: scope.createSame and scope.createElsewhere must be functions')
    }
    if (scope.secrets !== undefined && !(Array.isArray(scope.secrets) && scope.secrets.every((s) => s !== ''))) {
      throw new TypeError('runStorageContract: scope.secrets must be an array of non-empty strings')
    }
  }
}

/**
 * Registers the storage contract tests for one storage with the given test runner. Every test creates its own
 * storages (random prefix) and namespaces and closes what it created; nothing depends on test order.
 *
 * @example
 * import { describe, it, beforeAll, afterAll } from '@jest/globals'
 * runStorageContract({ describe, it, beforeAll, afterAll }, { name: 'memory', create: () => memoryStorage() })
 */
export function runStorageContract(runner: TestRunner, options: StorageContractOptions): void {
  checkOptions(options)
  const suite = createSuite(runner, options)
  const afterAll = runner.afterAll ?? runner.after
  runner.describe(`storage contract: ${options.name}`, () => {
    // Safety net for tests the runner abandoned on timeout: their storages would keep the process alive.
    if (afterAll !== undefined) afterAll(() => suite.closeAll())
    shapeTests(suite)
    readWriteTests(suite)
    deleteTests(suite)
    ttlTests(suite)
    addTests(suite)
    clearTests(suite)
    prefixTests(suite)
    concurrencyTests(suite)
    orderingTests(suite)
    metaTests(suite)
    scopeTests(suite)
    getManyTests(suite)
    tagTests(suite)
    leaseTests(suite)
    getThenTests(suite)
    closeTests(suite)
  })
}
