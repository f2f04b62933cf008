// What the load script sets up around the service: a PostgreSQL schema of its own with seeded tables, and the
// cleanup of its Redis keys. Nothing here touches tables or keys it did not create.
import pg from 'pg'
import { createClient } from 'redis'

const CONNECT_WITHIN_MS = 3000

export const REGIONS = ['eu-west', 'eu-north', 'us-east', 'us-west', 'ap-south', 'sa-east']
export const USER_COUNT = 1000
const SALES_ROWS = 20_000

/** Connects to both servers, or throws an error that says which one is missing and how to point at another. */
export async function connectServers(databaseUrl: string, redisUrl: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: CONNECT_WITHIN_MS })
  pool.on('error', () => {}) // an idle client's error surfaces on the next query
  try {
    await pool.query('SELECT 1')
  } catch (error) {
    await pool.end()
    throw new Error(
      `PostgreSQL is not reachable at ${new URL(databaseUrl).host} (${describe(error)}). Start it, or set ` +
        'DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).',
    )
  }
  const redis = createClient({
    url: redisUrl,
    socket: { connectTimeout: CONNECT_WITHIN_MS, reconnectStrategy: false },
  })
  redis.on('error', () => {}) // connect() rejects with the same error
  try {
    await redis.connect()
  } catch (error) {
    await pool.end()
    throw new Error(
      `Redis is not reachable at ${new URL(redisUrl).host} (${describe(error)}). Start it, or set REDIS_URL ` +
        '(default redis://127.0.0.1:6379).',
    )
  }
  return {
    pool,
    redis,
    close: async () => {
      await redis.close()
      await pool.end()
    },
  }
}

export type Servers = Awaited<ReturnType<typeof connectServers>>

function describe(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string }
  // pg reports a refused connection as an AggregateError with an empty message (one attempt per address).
  return code ?? (message || String(error))
}

/** A schema named for this run, holding `users` and `sales`; the service finds them through its search_path. */
export async function createTables(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`CREATE SCHEMA ${schema}`)
  await pool.query(`
    CREATE TABLE ${schema}.users (
      id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO ${schema}.users (id, name, email)
      SELECT i, 'user ' || i, 'user' || i || '@example.com' FROM generate_series(1, ${USER_COUNT}) AS i;
    CREATE TABLE ${schema}.sales (id int PRIMARY KEY, region text NOT NULL, product text NOT NULL, amount numeric NOT NULL);
    INSERT INTO ${schema}.sales
      SELECT i, (ARRAY['${REGIONS.join("','")}'])[1 + i % ${REGIONS.length}], 'product ' || (i * 7919 % 20),
             round((i * 37 % 1000)::numeric / 10, 2)
        FROM generate_series(1, ${SALES_ROWS}) AS i;
    ANALYZE ${schema}.users, ${schema}.sales;
  `)
}

export async function dropTables(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
}

/** Unlinks every key under `prefix` (SCAN, never FLUSHDB: the server is shared); returns how many. */
export async function deleteKeys(redis: Servers['redis'], prefix: string): Promise<number> {
  let deleted = 0
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) deleted += await redis.unlink(keys)
  }
  return deleted
}
