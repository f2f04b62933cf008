// close() ends core's background retries of a failed clear (the storage-test-suite's close checks): a storage over a
// port where nothing listens (REDIS_CLOSE_RETRIES_PORT, default 21410).
import { describe, it } from '@jest/globals'
import { redisStorage } from '@memokit/redis'
import { runCloseChecks } from '@memokit/storage-test-suite'

runCloseChecks(
  { describe, it },
  {
    name: 'redis',
    port: Number(process.env.REDIS_CLOSE_RETRIES_PORT ?? 21410),
    open: (port) =>
      redisStorage({ url: `redis://127.0.0.1:${port}`, prefix: 'close-retries', operationTimeoutMs: 200 }),
  },
)
