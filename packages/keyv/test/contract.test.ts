// The storage contract suite against real Keyv stores: Keyv's in-memory Map and @keyv/redis on the shared Redis,
// with clears by iterator and by namespace version.
import { afterAll, afterEach, beforeAll, describe, it } from '@jest/globals'
import { runStorageContract } from '@memokit/storage-test-suite'
import Keyv from 'keyv'
import { keyvStorage } from '../src'
import { cleanupRedis, createdKeyv, OTHER_DB_URL, redisKeyv } from './redis-env'

// The tests that wait on the real clock (TTLs, lease lapses; storages of their own) run side by side.
const runner = { describe, it, concurrent: it.concurrent, beforeAll, afterAll }

// A clear by iterator lists the whole database: keep it to the keys of the test at hand.
afterEach(() => cleanupRedis({ disconnect: false }), 30_000)
afterAll(() => cleanupRedis(), 30_000)

// In memory: one Map is one place; Keyv objects over the same Map share it.
for (const clearBy of ['iterator', 'generation'] as const) {
  const map = new Map()
  runStorageContract(runner, {
    name: `keyv in-memory Map, clearBy ${clearBy}`,
    create: ({ prefix }) => keyvStorage(new Keyv({ store: map }), { prefix, clearBy }),
    scope: {
      createSame: ({ prefix }) => keyvStorage(new Keyv({ store: map, stats: true }), { prefix, clearBy }),
      createElsewhere: ({ prefix }) => keyvStorage(new Keyv({ store: new Map() }), { prefix, clearBy }),
    },
  })
}

// @keyv/redis as set up by hand (Keyv namespace + adapter namespace) and by its createKeyv (adapter namespace only).
// createKeyv's layout only matters to the iterator (generation mode never lists keys).
const setups = [
  { label: 'new Keyv({ store: new KeyvRedis(url), namespace })', keyv: redisKeyv, modes: ['iterator', 'generation'] },
  { label: 'createKeyv(url, { namespace })', keyv: createdKeyv, modes: ['iterator'] },
] as const
for (const { label, keyv, modes } of setups) {
  for (const clearBy of modes) {
    // One connection per place for the whole run, as an application has.
    const [here, same, elsewhere] = [keyv(), keyv(), keyv(OTHER_DB_URL)]
    runStorageContract(runner, {
      name: `keyv @keyv/redis via ${label}, clearBy ${clearBy}`,
      create: ({ prefix }) => keyvStorage(here, { prefix, clearBy }),
      scope: {
        // Its own client and Keyv, same server and database: the same place.
        createSame: ({ prefix }) => keyvStorage(same, { prefix, clearBy }),
        createElsewhere: ({ prefix }) => keyvStorage(elsewhere, { prefix, clearBy }),
      },
    })
  }
}
