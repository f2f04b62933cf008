// A Fastify service whose origin is PostgreSQL, cached in Redis with memokit. Run as many replicas as you like
// (PORT=3001, PORT=3002, ...): they share one cache through Redis, and a write on one clears it for all of them.
import {
  cacheClear,
  cacheReference,
  cacheValue,
  type ErrorReport,
  type FreshnessOptions,
  memoryStorage,
  tieredStorage,
} from '@memokit/core'
import { redisBus, redisStorage } from '@memokit/redis'
import Fastify from 'fastify'
import pg from 'pg'
import { createClient } from 'redis'

const port = Number(process.env.PORT ?? 3000)
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
// Unset: memokit's default, `memokit/<package name>`, shared by every replica of this service.
const cachePrefix = process.env.CACHE_PREFIX

// How long values stay fresh, and what happens after. A real service picks one; the load script starts one pair
// of replicas per policy (CACHE_MODE) to compare them. The dataset's ttl is short so that a 15 s run sees expiries.
type Policy = Record<'users' | 'dataset', FreshnessOptions & { singleFlight?: 'distributed' }>
// Past ttl, serve the stale value at once and refresh it behind (swr); PostgreSQL failing or slower than the
// soft timeout: serve the last good value (for up to an hour); a query still running after 2 s frees its callers.
const stale = {
  users: { ttl: '30s', swr: '1m', staleIfError: '1h', timeout: { soft: '100ms', hard: '2s' } },
  dataset: { ttl: '2s', swr: '1m', staleIfError: '1h', timeout: { soft: '100ms', hard: '2s' } },
} satisfies Policy
// The same, with one computation per key across every replica: a miss whose key another replica is computing
// waits (up to timeout.hard) for that replica's value, and a stale value is refreshed by one replica, not each.
const distributed = {
  users: { ...stale.users, singleFlight: 'distributed' },
  dataset: { ...stale.dataset, singleFlight: 'distributed' },
} satisfies Policy
const policies = {
  // Single tier, fixed expiry: once an entry expires, the next caller (one per key and replica) waits for PostgreSQL.
  ttl: { users: { ttl: '30s' }, dataset: { ttl: '2s' } },
  stale,
  distributed,
  // `distributed` over two tiers: each replica's memory in front of Redis (see the storage below).
  tiered: distributed,
} satisfies Record<string, Policy>

const cacheMode = process.env.CACHE_MODE ?? 'stale'
if (cacheMode !== 'off' && !(cacheMode in policies)) {
  throw new Error(`CACHE_MODE must be off or one of ${Object.keys(policies).join(', ')}, not ${cacheMode}`)
}
const policy = cacheMode === 'off' ? undefined : policies[cacheMode as keyof typeof policies]

const app = Fastify({ logger: { level: 'warn' } })

// One pool and one Redis client per process, created by whoever asks first and closed once on shutdown.
const database = cacheReference(
  (url: string) => new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 2000 }),
  { dispose: (pool) => pool.end() },
)
const redis = cacheReference(
  (url: string) => {
    const client = createClient({ url, disableOfflineQueue: true })
    client.on('error', (error) => app.log.warn({ err: error }, 'redis client error'))
    return client
  },
  {
    dispose: async (client) => {
      if (client.isOpen) await client.close() // a replica that never cached never connected
    },
  },
)

// The origin. Requests and queries are counted, so GET /stats can tell how much of the load reached PostgreSQL.
let requests = 0
let originQueries = 0
async function query<Row extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<Row[]> {
  originQueries++
  return (await database(databaseUrl).query<Row>(text, values)).rows
}

interface User {
  id: number
  name: string
  email: string
  updatedAt: Date
}
interface ProductSales {
  product: string
  orders: number
  revenue: number
}
const userColumns = 'id, name, email, updated_at AS "updatedAt"'

async function loadUser(id: number): Promise<User | null> {
  const [user] = await query<User>(`SELECT ${userColumns} FROM users WHERE id = $1`, [id])
  return user ?? null
}

async function loadDataset(region: string): Promise<ProductSales[]> {
  // Deliberately slow: pg_sleep(0.02) stands in for a heavy report, 20 ms of database time on every call.
  return query<ProductSales>(
    `SELECT product, count(*)::int AS orders, sum(amount)::float8 AS revenue
       FROM sales, pg_sleep(0.02)
      WHERE region = $1
      GROUP BY product
      ORDER BY revenue DESC`,
    [region],
  )
}

async function renameUser(id: number, name: string): Promise<User | null> {
  const [user] = await query<User>(
    `UPDATE users SET name = $2, updated_at = now() WHERE id = $1 RETURNING ${userColumns}`,
    [id, name],
  )
  return user ?? null
}

// The cache: reads through cacheValue, writes through cacheClear (which clears the users namespace on every
// replica, because they all read the same Redis).
const shared = redisStorage({ client: redis(redisUrl), prefix: cachePrefix })
// CACHE_MODE=tiered: two tiers, this replica's memory (L1) in front of the shared Redis (L2). An L1 hit costs no
// round trip. A write or clear goes to Redis, then this replica's L1, then out on the bus (Redis pub/sub, two
// connections of its own), which drops the copies in the other replicas' L1s: cacheClear below reaches them too.
const bus = cacheMode === 'tiered' ? redisBus({ url: redisUrl }) : undefined
const tier = bus && tieredStorage({ l1: memoryStorage({ maxEntries: 10_000 }), l2: shared, bus })
const storage = tier ?? shared
const onError = (report: ErrorReport) =>
  app.log.warn({ err: report.error, op: report.op, key: report.key }, `cache ${report.op} failed`)

const getUser = policy ? cacheValue(loadUser, { storage, namespace: 'users', onError, ...policy.users }) : loadUser
const getDataset = policy
  ? cacheValue(loadDataset, { storage, namespace: 'dataset', onError, ...policy.dataset })
  : loadDataset
const updateUser = policy ? cacheClear(renameUser, { storage, namespaces: 'users', onError }) : renameUser

app.get<{ Params: { id: number } }>(
  '/users/:id',
  { schema: { params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } } },
  async (request, reply) => (await getUser(request.params.id)) ?? reply.code(404).send({ error: 'no such user' }),
)

app.put<{ Params: { id: number }; Body: { name: string } }>(
  '/users/:id',
  {
    schema: {
      params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
      body: {
        type: 'object',
        properties: { name: { type: 'string', minLength: 1, maxLength: 100 } },
        required: ['name'],
      },
    },
  },
  async (request, reply) =>
    (await updateUser(request.params.id, request.body.name)) ?? reply.code(404).send({ error: 'no such user' }),
)

app.get<{ Querystring: { region: string } }>(
  '/dataset',
  {
    schema: {
      querystring: {
        type: 'object',
        properties: { region: { type: 'string', pattern: '^[a-z-]{1,32}$', default: 'eu-west' } },
      },
    },
  },
  async (request) => getDataset(request.query.region),
)

app.addHook('onRequest', async (request) => {
  if (request.url !== '/stats') requests++
})
app.get('/stats', async () => ({ requests, originQueries, cache: cacheMode }))

async function shutdown() {
  await app.close() // stop taking requests, finish the ones in flight
  await tier?.close() // stop the heartbeat and unsubscribe
  await bus?.close() // close the bus's own connections
  await shared.close() // wait for cache writes already sent
  await redis.clear() // close the Redis client
  await database.clear() // end the pool
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    shutdown().then(
      () => process.exit(0),
      (error) => {
        console.error('http-service: shutdown failed', error)
        process.exit(1)
      },
    )
  })
}

// Without its database the service can't answer anything: say so and stop, rather than serve 500s. (Without
// Redis it still answers, from PostgreSQL: memokit fails open and reports to onError.)
try {
  await database(databaseUrl).query('SELECT 1')
} catch (error) {
  console.error(
    `http-service: PostgreSQL at ${new URL(databaseUrl).host} is not reachable: ${(error as Error).message}`,
  )
  await database.clear()
  process.exit(1)
}
await tier?.ready // subscribed to the bus (or the attempt failed, and is retried: the L1 waits for it)
await app.listen({ host: '127.0.0.1', port })
console.log(`http-service listening on http://127.0.0.1:${port} (cache: ${cacheMode})`)
