// close() ends core's background retries of a failed clear (storageClosed): a storage over a port where nothing listens
// (PostgreSQL, POSTGRES_CLOSE_RETRIES_PORT, default 21411) fails a cacheClear's clear, then closes. One report says the
// clear was not retried; no retry runs after the close (before, each one failed on the closed storage and was
// reported).
import { connect } from 'node:net'
import { expect, it } from '@jest/globals'
import { cacheClear, cacheValue, type ErrorReport } from '@memokit/core'
import { postgresStorage } from '@memokit/postgres'

const PORT = Number(process.env.POSTGRES_CLOSE_RETRIES_PORT ?? 21411)

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
  if (await listening()) throw new Error(`port ${PORT} is in use: set POSTGRES_CLOSE_RETRIES_PORT`)
  const storage = postgresStorage({ url: `postgres://127.0.0.1:${PORT}/test`, operationTimeoutMs: 200 })
  const reports: ErrorReport[] = []
  cacheValue(async (n: number) => n, { storage, namespace: 'ns', name: 'ident', onError: () => {} })
  const save = cacheClear(async () => 'saved', { storage, namespaces: 'ns', onError: (r) => reports.push(r) })
  await save()
  expect(reports).toHaveLength(1)
  await storage.close()
  // Retries would have run 250 and 750 ms after the failure.
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  expect(reports.map((r) => r.error.message)).toEqual([
    expect.stringMatching(/^postgres clear /),
    expect.stringMatching(/clear of namespace 'ns' was not retried because the storage was closed/),
  ])
})
