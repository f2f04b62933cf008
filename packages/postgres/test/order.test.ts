// A write that timed out must not land after a later delete has resolved. PostgreSQL runs a statement on after its
// client drops the connection, so a `set` slowed past operationTimeoutMs (a lock, a trigger, a busy server) used to
// commit after the `delete` issued at its timeout: the old value was then served with no expiry. The storage now
// cancels the statement on the server, and orders the delete after the server has ended it.
import { expect, it } from '@jest/globals'
import { StorageError } from '@memokit/core'
import { postgresStorage } from '@memokit/postgres'
import { useSlowablePools } from './pools'

const pools = useSlowablePools('order', 'MEMOKIT_PG_ORDER_PORT', 25436)
const { table, slow } = pools

it('a set that timed out never lands after the delete issued at its timeout resolved', async () => {
  const storage = postgresStorage({ pool: pools.userPool, table, prefix: 'order', operationTimeoutMs: 300 })
  await storage.get('ns', 'warm')
  // Every write to the table takes 1.5 s on the server, five times the operation's bound.
  await pools.admin.query(
    `CREATE FUNCTION ${slow}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); RETURN NEW; END $$`,
  )
  await pools.admin.query(
    `CREATE TRIGGER ${slow} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${slow}()`,
  )
  try {
    await expect(storage.set('ns', 'k', 'stale')).rejects.toThrow(StorageError)
    expect(await storage.delete('ns', 'k')).toBe(false)
    // Past the moment the slow write would have committed.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    expect(await storage.get('ns', 'k')).toBeUndefined()
  } finally {
    await pools.admin.query(`DROP TRIGGER IF EXISTS ${slow} ON ${table}`)
  }
  // The pool is whole again: the cancelled statement's connection went back to it.
  await storage.set('ns', 'k', 'fresh')
  expect((await storage.get('ns', 'k'))?.value).toBe('fresh')
  await storage.close()
}, 30_000)
