// The storage contract suite against real memcached servers a test file starts, one contract instance per file
// (contract-*.test.ts): most of a contract run is real waiting (TTLs, leases), so jest runs the files side by side.
import { afterAll, beforeAll, describe, it } from '@jest/globals'
import { runStorageContract, type StorageContractOptions } from '@memokit/storage-test-suite'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { memcachedForFile } from './memcached-for-file'

type AdapterName = 'memjs' | 'memcache-client'

export interface MemcachedContractOptions {
  /** The adapter the contract's storages use. */
  readonly adapter: AdapterName
  /** The port of this file's memcached. */
  readonly port: number
  /**
   * The port of a second memcached, for the contract's scope checks: that server is "another place", and the same
   * server through the other adapter is "the same place". Without it, no scope checks.
   */
  readonly otherPort?: number
  /** The storages' versionCacheMs (memcachedStorage's default when absent). */
  readonly versionCacheMs?: number
}

const quiet = { log: () => undefined }
// The contract tests no timeouts (memcached-faults.test.ts does). On a loaded runner the event loop stalled for
// 0.8 s in a contract run, and an operation timed out at 1 s fails open: an extra computation where the tags and
// lease tests count them. The contract's storages and clients get 5 s instead.
const TIMEOUT_MS = 5000

/** An adapter over a client made on first use (after the server started) and closed before the server stops. */
function lazyAdapter(file: ReturnType<typeof memcachedForFile>, adapter: AdapterName): () => MemcachedClient {
  let client: MemcachedClient | undefined
  return () => {
    if (client !== undefined) return client
    const { address } = file.server
    if (adapter === 'memjs') {
      const c = memjs.Client.create(address, { logger: quiet, timeout: TIMEOUT_MS / 1000, retries: 1 })
      file.closers.push(() => c.close())
      client = fromMemjs(c)
    } else {
      const c = new MemcacheClient({ server: address, cmdTimeout: TIMEOUT_MS })
      file.closers.push(() => c.shutdown())
      client = fromMemcacheClient(c)
    }
    return client
  }
}

/** Starts this file's memcached (and the second one, with `otherPort`) and registers the contract suite on it. */
export function runMemcachedContract(options: MemcachedContractOptions): void {
  const { adapter, port, otherPort, versionCacheMs } = options
  const file = memcachedForFile(port)
  const client = lazyAdapter(file, adapter)
  const tuning = { operationTimeoutMs: TIMEOUT_MS, ...(versionCacheMs === undefined ? {} : { versionCacheMs }) }
  let scope: StorageContractOptions['scope']
  if (otherPort !== undefined) {
    const sameServer = lazyAdapter(file, adapter === 'memjs' ? 'memcache-client' : 'memjs')
    const otherServer = lazyAdapter(memcachedForFile(otherPort), 'memjs')
    scope = {
      createSame: ({ prefix }) => memcachedStorage({ client: sameServer(), prefix, ...tuning }),
      createElsewhere: ({ prefix }) => memcachedStorage({ client: otherServer(), prefix, ...tuning }),
    }
  }
  runStorageContract(
    // The waiting tests side by side: with whole-second TTLs each waits about three seconds.
    { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
    {
      name: `memcached via ${adapter}${versionCacheMs === undefined ? '' : `, versionCacheMs ${versionCacheMs}`}`,
      create: ({ prefix }) => memcachedStorage({ client: client(), prefix, ...tuning }),
      ttlGranularityMs: 1000,
      leases: true,
      getThen: true,
      ...(scope === undefined ? {} : { scope }),
    },
  )
}
