import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import { createClient, createClientPool } from 'redis'
import { envPort, sharedRedis } from './servers'

let shared: Awaited<ReturnType<typeof sharedRedis>>
// One user-owned client for the own-client run: the suite closes storages, which must leave this client open.
let userClient: ReturnType<typeof createClient>
let userPool: ReturnType<typeof createClientPool>

beforeAll(async () => {
  shared = await sharedRedis(envPort('REDIS_SPARE_PORT', 7200) + 6)
  userClient = createClient({ url: shared.url })
  userClient.on('error', () => {})
  userPool = createClientPool({ url: shared.url }, { minimum: 1, maximum: 4 })
  userPool.on('error', () => {})
}, 60_000)

afterAll(async () => {
  // Never opened when a filtered run skips every test using them: close() would throw and leave the other open.
  if (userClient?.isOpen) await userClient.close()
  if (userPool?.isOpen) await userPool.close()
  await shared?.stop()
}, 60_000)

// Database 1 of the same server: another place for the same prefix.
const otherDatabase = (): string => {
  const url = new URL(shared.url)
  url.pathname = '/1'
  return url.href
}

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'redis standalone (url)',
    leases: true,
    getThen: true,
    create: ({ prefix }) => redisStorage({ url: shared.url, prefix }),
    scope: {
      createSame: ({ prefix }) => redisStorage({ client: userClient, prefix }),
      createElsewhere: ({ prefix }) => redisStorage({ url: otherDatabase(), prefix }),
    },
  },
)

runStorageContract(
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'redis standalone (own client)',
    leases: true,
    getThen: true,
    create: ({ prefix }) => redisStorage({ client: userClient, prefix }),
    scope: {
      createSame: ({ prefix }) => redisStorage({ url: shared.url, prefix }),
      createElsewhere: ({ prefix }) => redisStorage({ url: otherDatabase(), prefix }),
    },
  },
)

runStorageContract(
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'redis standalone (own client pool)',
    leases: true,
    getThen: true,
    create: ({ prefix }) => redisStorage({ client: userPool, prefix }),
  },
)

describe('the own-client runs', () => {
  it('left the user client and pool open', async () => {
    expect(userClient.isOpen).toBe(true)
    expect(await userClient.ping()).toBe('PONG')
    expect(userPool.isOpen).toBe(true)
    expect(await userPool.ping()).toBe('PONG')
  })
})
