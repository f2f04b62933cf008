// close() ends core's background retries of a failed clear (the storage-test-suite's close checks): a storage over a
// port where nothing listens (MONGODB_CLOSE_RETRIES_PORT, default 21412).
import { describe, it } from '@jest/globals'
import { mongoStorage } from '@memokit/mongodb'
import { runCloseChecks } from '@memokit/storage-test-suite'

runCloseChecks(
  { describe, it },
  {
    name: 'mongodb',
    port: Number(process.env.MONGODB_CLOSE_RETRIES_PORT ?? 21412),
    open: (port) => mongoStorage({ url: `mongodb://127.0.0.1:${port}/memokit`, operationTimeoutMs: 200 }),
  },
)
