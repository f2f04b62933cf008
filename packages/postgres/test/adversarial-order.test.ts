// Two writes of one key from one storage object: the pool runs them on different connections, so the older one,
// slowed on the server (a trigger sleeps on values holding 'stale'), used to commit after the newer one and was
// served until its ttl. Both tests failed before set and add waited for the key's writes already sent.
import { beforeAll, expect, it } from '@jest/globals'
import { cacheValue } from '@memokit/core'
import { postgresStorage } from '@memokit/postgres'
import { useSlowablePools } from './pools'

const pools = useSlowablePools('advorder', 'MEMOKIT_PG_ADV_ORDER_PORT', 21551)
const { table, slow } = pools

beforeAll(async () => {
  await pools.admin.query(
    `CREATE FUNCTION ${slow}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
       IF position('stale' in convert_from(NEW.value, 'UTF8')) > 0 THEN PERFORM pg_sleep(0.5); END IF;
       RETURN NEW; END $$`,
  )
}, 30_000)

/** A storage on the user's pool whose table slows every write of a value holding 'stale'. */
async function slowedStorage(prefix: string) {
  const storage = postgresStorage({ pool: pools.userPool, table, prefix, operationTimeoutMs: 3000 })
  await storage.get('ns', 'warm')
  await pools.admin.query(`DROP TRIGGER IF EXISTS ${slow} ON ${table}`)
  await pools.admin.query(
    `CREATE TRIGGER ${slow} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${slow}()`,
  )
  return storage
}

it('a set issued while an earlier set of the key is on its way lands after it', async () => {
  const storage = await slowedStorage('order')
  try {
    const first = storage.set('ns', 'k', 'stale')
    await storage.set('ns', 'k', 'fresh')
    await first
    expect((await storage.get('ns', 'k'))?.value).toBe('fresh')
  } finally {
    await storage.close()
  }
}, 30_000)

it('through cacheValue: .refresh() right after a call whose write is slow keeps the refreshed value', async () => {
  const storage = await slowedStorage('refresh')
  let version = 'stale'
  const read = cacheValue(async (id: number) => `${version}-${id}`, { storage, name: 'read', ttl: 60_000 })
  try {
    const first = read(1)
    // fn has run; its write is held on the server.
    await new Promise((resolve) => setTimeout(resolve, 100))
    version = 'fresh'
    expect(await read.refresh(1)).toBe('fresh-1')
    expect(await first).toBe('stale-1')
    // Past the moment the slow write would have committed.
    await new Promise((resolve) => setTimeout(resolve, 700))
    expect(await read(1)).toBe('fresh-1')
  } finally {
    await storage.close()
  }
}, 30_000)
