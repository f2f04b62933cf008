import { describe, expect, it } from '@jest/globals'
import { cacheValue } from '@memokit/core'
import { uniqueNamespace } from './helpers'
import { replicaStorage, sharedState } from './lease-helpers'

describe(".refresh() with singleFlight: 'distributed'", () => {
  it('runs fn and stores its result, even though the storage holds a fresh value', async () => {
    const storage = replicaStorage(sharedState())
    let version = 1
    const cached = cacheValue(async (id: number) => `user ${id} v${version}`, {
      storage,
      namespace: uniqueNamespace(),
      name: 'refreshDistributed',
      singleFlight: 'distributed',
    })
    expect(await cached(1)).toBe('user 1 v1')
    version = 2
    expect(await cached.refresh(1)).toBe('user 1 v2')
    expect(await cached(1)).toBe('user 1 v2')
  })
})
