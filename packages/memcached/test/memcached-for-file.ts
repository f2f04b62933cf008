// A test file's own memcached, in jest's hooks. Apart from memcached-server.ts, which the bench imports outside jest.
import { afterAll, beforeAll } from '@jest/globals'
import { type MemcachedServer, startMemcached } from './memcached-server'

/**
 * A memcached for one test file: started on `port` before its tests; after them, every close in `closers` runs
 * (the clients the file made), then the server stops.
 */
export function memcachedForFile(port: number): { readonly server: MemcachedServer; readonly closers: (() => void)[] } {
  let server: MemcachedServer | undefined
  const closers: (() => void)[] = []
  beforeAll(async () => {
    server = await startMemcached(port)
  }, 15_000)
  afterAll(async () => {
    for (const close of closers) close()
    await server?.stop()
  }, 15_000)
  return {
    get server() {
      if (server === undefined) throw new Error(`memcached on port ${port} is not started (used outside a test?)`)
      return server
    },
    closers,
  }
}
