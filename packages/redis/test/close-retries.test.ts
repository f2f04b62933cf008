// close() ends core's background retries of a failed clear (storageClosed): a storage over a port where nothing listens
// (Redis, REDIS_CLOSE_RETRIES_PORT, default 21410) fails a cacheClear's clear, then closes. One report says the clear
// was not retried; no retry runs after the close (before, each one failed on the closed storage and was reported).
import { connect } from 'node:net'
import { expect, it } from '@jest/globals'
import { cacheClear, cacheValue, type ErrorReport } from '@memokit/core'
import { redisStorage } from '@memokit/redis'

const PORT = Number(process.env.REDIS_CLOSE_RETRIES_PORT ?? 21410)

const listening = (): Promise<boolean> =>
  new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port: PORT })
    socket.once('connect', () => {
      socket.destroy()
      done(true)
    })
    socket.once('error', () => done(false))
  })

it('close() ends the background retries of a failed clear, reporting once that it was not retried', async () => {
  if (await listening()) throw new Error(`port ${PORT} is in use: set REDIS_CLOSE_RETRIES_PORT`)
  const storage = redisStorage({ url: `redis://127.0.0.1:${PORT}`, prefix: 'close-retries', operationTimeoutMs: 200 })
  const reports: ErrorReport[] = []
  cacheValue(async (n: number) => n, { storage, namespace: 'ns', name: 'ident', onError: () => {} })
  const save = cacheClear(async () => 'saved', { storage, namespaces: 'ns', onError: (r) => reports.push(r) })
  await save()
  expect(reports).toHaveLength(1)
  await storage.close()
  // Retries would have run 250 and 750 ms after the failure.
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  expect(reports.map((r) => r.error.message)).toEqual([
    expect.stringMatching(/^redis clear /),
    expect.stringMatching(/clear of namespace 'ns' was not retried because the storage was closed/),
  ])
})
