import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { redisStorage } from '@memokit/redis'
import { runStorageContract } from '@memokit/storage-test-suite'
import { createClient } from 'redis'
import { envPort, sharedRedis } from './servers'

let shared: Awaited<ReturnType<typeof sharedRedis>>
// One user-owned client for the own-client run: the suite closes storages, which must leave this client open.
let userClient: ReturnType<typeof createClient>

beforeAll(async () => {
  shared = await sharedRedis(envPort('REDIS_SPARE_PORT', 7200) + 6)
  userClient = createClient({ url: shared.url })
  userClient.on('error', () => {})
}, 60_000)

afterAll(async () => {
  await userClient?.close()
  await shared?.stop()
}, 60_000)

runStorageContract(
  { describe, it, beforeAll, afterAll },
  { name: 'redis standalone (url)', create: ({ prefix }) => redisStorage({ url: shared.url, prefix }) },
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
