// close() ends core's background retries of a failed clear (the storage-test-suite's close checks): a storage over a
// port where nothing listens (POSTGRES_CLOSE_RETRIES_PORT, default 21411).
import { describe, it } from '@jest/globals'
import { postgresStorage } from '@memokit/postgres'
import { runCloseChecks } from '@memokit/storage-test-suite'

runCloseChecks(
  { describe, it },
  {
    name: 'postgres',
    port: Number(process.env.POSTGRES_CLOSE_RETRIES_PORT ?? 21411),
    open: (port) => postgresStorage({ url: `postgres://127.0.0.1:${port}/test`, operationTimeoutMs: 200 }),
  },
)
