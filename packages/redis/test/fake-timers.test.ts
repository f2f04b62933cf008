// A service's own tests often run under jest's default fake timers. docs/recipes.md promises that memokit's hits and
// misses answer there as with real timers over a client that does (ioredis does; node-redis's own get waits for the
// clock, so it is not checked here). Against the shared Redis.
import { afterAll, describe, it, jest } from '@jest/globals'
import { redisStorage } from '@memokit/redis'
import { runFakeTimersChecks } from '@memokit/storage-test-suite'
import { Redis } from 'ioredis'

const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
client.on('error', () => {})

afterAll(async () => {
  await client.quit()
})

runFakeTimersChecks(
  { describe, it },
  {
    name: 'redis over ioredis',
    open: ({ prefix }) => redisStorage({ client, prefix }),
    fake: () => jest.useFakeTimers(),
    restore: () => jest.useRealTimers(),
  },
)
