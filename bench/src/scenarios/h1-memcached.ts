// H1's memcached pair: memokit's memcachedStorage over a memjs client against memjs `get` + JSON.parse on another
// memjs client, on a memcached started here (port H1_MEMCACHED_PORT, default 7110) and stopped by its PID.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { startMemcached } from '../../../packages/memcached/test/memcached-server'
import { fetchValue, HOT, TTL_MS, type Value, valueFor } from '../redis-common'
import type { CacheValue, Pair } from './h1'
import { tallied } from './h1'

// The bench has no dependency of its own on memjs: it comes from packages/memcached.
const PACKAGE = fileURLToPath(new URL('../../../packages/memcached/', import.meta.url))
const PORT = Number(process.env.H1_MEMCACHED_PORT ?? 7110)

interface Memjs {
  get(key: string): Promise<{ value: Buffer | null }>
  set(key: string, value: string, options: { expires: number }): Promise<boolean>
  close(): void
}

function installed(): boolean {
  try {
    execFileSync('memcached', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export async function memcachedPair(cacheValue: CacheValue): Promise<Pair | string> {
  if (!installed()) return 'memcached is not installed (apt-get install -y memcached)'
  const require = createRequire(`${PACKAGE}package.json`)
  const memjs = require('memjs') as { Client: { create(server: string, options: object): Memjs } }
  const { fromMemjs, memcachedStorage } = await import('@memokit/memcached')
  const server = await startMemcached(PORT)
  const quiet = { log: () => {} }
  const rawClient = memjs.Client.create(server.address, { logger: quiet })
  const mkClient = memjs.Client.create(server.address, { logger: quiet })
  const close = async (): Promise<void> => {
    rawClient.close()
    mkClient.close()
    await server.stop()
  }
  try {
    for (let k = 0; k < HOT; k++) {
      await rawClient.set(`mkbench-raw:user:${k}`, JSON.stringify(valueFor(k)), { expires: TTL_MS / 1000 })
    }
    const { tally, load, onError } = tallied(fetchValue)
    // By default a hit reads the namespace version and the entry under the last version seen in one multi-get
    // (fromMemjs: quiet GETs, all the reads of a tick in one write; a clear on another replica counts at once);
    // with versionCacheMs the version read is skipped for that long.
    const wrap = (versionCacheMs: number, name: string) =>
      cacheValue(load, {
        storage: memcachedStorage({ client: fromMemjs(mkClient as never), prefix: 'mkbench', versionCacheMs }),
        name,
        ttl: TTL_MS,
        onError,
      }) as (k: number) => Promise<Value>
    return {
      label: 'memcached',
      lines: [`memcached ${server.address} (pid ${server.pid}, started here and stopped at the end)`],
      raw: {
        name: 'memjs get + JSON.parse',
        note: 'raw: own memjs client',
        call: async (k) => {
          const { value } = await rawClient.get(`mkbench-raw:user:${k}`)
          return value === null ? undefined : JSON.parse(value.toString('utf8'))
        },
      },
      memokit: [
        {
          name: 'memokit',
          note: 'cacheValue + memcachedStorage(fromMemjs(own memjs client)): version + entry in one multi-get per hit',
          call: wrap(0, 'bench.h1'),
        },
        {
          name: 'memokit, versionCacheMs 1000',
          note: 'the same, trusting the namespace version for 1 s: the entry only',
          call: wrap(1000, 'bench.h1.vc'),
        },
      ],
      tally,
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}
