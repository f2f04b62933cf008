// Core's lease flow over memcached (the storage-test-suite's lease flow checks), with each adapter: replicas in one
// process, each with its own connection.
import { randomBytes } from 'node:crypto'
import { describe, it } from '@jest/globals'
import type { AsyncStorage } from '@memokit/core'
import { runLeaseFlowChecks } from '@memokit/storage-test-suite'
import { MemcacheClient } from 'memcache-client'
import memjs from 'memjs'
import { fromMemcacheClient, fromMemjs, type MemcachedClient, memcachedStorage } from '../src'
import { memcachedForFile } from './memcached-for-file'
import { portFromEnv } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_FLIGHT_PORT', 11332)
const file = memcachedForFile(PORT)
const { closers } = file

const connect: Record<string, () => MemcachedClient> = {
  memjs: () => {
    const c = memjs.Client.create(file.server.address, { logger: { log: () => undefined }, timeout: 2, retries: 1 })
    closers.push(() => c.close())
    return fromMemjs(c)
  },
  'memcache-client': () => {
    const c = new MemcacheClient({ server: file.server.address, cmdTimeout: 1000 })
    closers.push(() => c.shutdown())
    return fromMemcacheClient(c)
  },
}
for (const name of Object.keys(connect)) {
  /** `count` replicas on one prefix, each with its own connection; each view hides `scope`. */
  const replicas = (count: number): AsyncStorage[] => {
    const prefix = `flight-${randomBytes(5).toString('hex')}`
    return Array.from({ length: count }, () => {
      const { scope: _scope, ...view } = memcachedStorage({ client: connect[name]?.() as MemcachedClient, prefix })
      return view
    })
  }
  runLeaseFlowChecks({ describe, it }, { name: `memcached via ${name}`, replicas })
}
