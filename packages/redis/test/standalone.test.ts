import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import { createClient } from 'redis'
import { SHARED_REDIS_URL } from './servers'

// One user-owned client for the own-client run: the suite closes storages, which must leave this client open.
const userClient = createClient({ url: SHARED_REDIS_URL })
userClient.on('error', () => {})

afterAll(async () => {
  await userClient.close()
})

runStorageContract(
  { describe, it, beforeAll, afterAll },
  { name: 'redis standalone (url)', create: ({ prefix }) => redisStorage({ url: SHARED_REDIS_URL, prefix }) },
)

runStorageContract(
  { describe, it, beforeAll, afterAll },
  { name: 'redis standalone (own client)', create: ({ prefix }) => redisStorage({ client: userClient, prefix }) },
)

describe('the own-client run', () => {
  it('left the user client open', async () => {
    expect(userClient.isOpen).toBe(true)
    expect(await userClient.ping()).toBe('PONG')
  })
})
