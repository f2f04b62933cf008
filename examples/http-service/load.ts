// The load test: two replicas of service.ts per cache policy, hit round-robin by autocannon, then a Markdown table.
// `pnpm start` is the short CI form (2 s per run) and fails unless memokit cut origin queries per request to under
// half of the uncached run; `pnpm run load` runs 15 s per run (LOAD_SECONDS changes either).
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import autocannon from 'autocannon'
import { connectServers, createTables, deleteKeys, dropTables, REGIONS, type Servers, USER_COUNT } from './fixtures'
import { type Replicas, startReplicas } from './replicas'

const short = process.argv.includes('--short')
const seconds = Number(process.env.LOAD_SECONDS ?? (short ? 2 : 15))
const REPLICAS = 2
const CONNECTIONS = 32
const WRITE_SHARE = 0.001 // PUT /users/:id, which clears the whole users namespace, for every replica
// The short form reads 20 hot users, so that two seconds (maybe 200 requests on a busy CI machine) get past the
// cold cache; the full form spreads reads over all of them.
const USERS_READ = short ? 20 : USER_COUNT
const DATASET_SHARE = 0.3 // GET /dataset?region=..., the slow query; the rest is GET /users/:id
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

// Everything this run creates is named after it: a PostgreSQL schema, and Redis keys under one prefix.
const runId = `${process.pid}_${randomBytes(4).toString('hex')}`
const schema = `memokit_http_${runId}`
const keyPrefix = `memokit-example-http-${runId}`

const runs = [
  { mode: 'off', label: 'no cache' },
  { mode: 'ttl', label: 'memokit single-tier (Redis): ttl' },
  { mode: 'stale', label: 'memokit single-tier (Redis): ttl + swr + staleIfError + timeout' },
] as const
const notBuilt = ['+ distributed single-flight', '+ two tiers (memory in front of Redis)']

interface Row {
  label: string
  requests: number
  perSecond: number
  p50: number
  p99: number
  queriesPerRequest: number
  failed: number
}

const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T
const userPath = () => `/users/${1 + Math.floor(Math.random() * USERS_READ)}`

// Called by autocannon before every request: the traffic mix.
function nextRequest(request: autocannon.Request): autocannon.Request {
  const r = Math.random()
  if (r < WRITE_SHARE) {
    const body = JSON.stringify({ name: `renamed ${randomBytes(3).toString('hex')}` })
    return { ...request, method: 'PUT', path: userPath(), headers: { 'content-type': 'application/json' }, body }
  }
  if (r < WRITE_SHARE + DATASET_SHARE) return { ...request, method: 'GET', path: `/dataset?region=${pick(REGIONS)}` }
  return { ...request, method: 'GET', path: userPath() }
}

function withSearchPath(url: string, searchPath: string): string {
  const parsed = new URL(url)
  parsed.searchParams.set('options', `-c search_path=${searchPath}`)
  return parsed.toString()
}

const live = new Set<Replicas>()

function startPair(mode: string): Promise<Replicas> {
  return startReplicas(REPLICAS, {
    DATABASE_URL: withSearchPath(databaseUrl, schema),
    REDIS_URL: redisUrl,
    CACHE_MODE: mode,
    CACHE_PREFIX: `${keyPrefix}-${mode}`, // each run starts with a cold cache
  }).then((replicas) => {
    live.add(replicas)
    return replicas
  })
}

async function measure(replicas: Replicas, label: string): Promise<Row> {
  const before = await replicas.stats()
  // autocannon takes several URLs and spreads the connections over them; @types/autocannon predates that.
  const options = {
    url: replicas.urls,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ setupRequest: nextRequest }],
  }
  const result = await autocannon(options as unknown as autocannon.Options)
  // Requests autocannon had in flight when it stopped still finish on the replicas: let them, then count.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const after = await replicas.stats()
  live.delete(replicas)
  await replicas.stop()
  const requests = after.requests - before.requests
  return {
    label,
    requests,
    perSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    queriesPerRequest: requests > 0 ? (after.originQueries - before.originQueries) / requests : Number.NaN,
    failed: result.errors + result.timeouts + result.non2xx,
  }
}

function table(rows: Row[]): string {
  const lines = [
    '| run | requests/s | p50 (ms) | p99 (ms) | origin queries / request | failed requests |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${Math.round(r.perSecond)} | ${r.p50} | ${r.p99} | ${r.queriesPerRequest.toFixed(3)} | ${r.failed} |`,
    ),
    ...notBuilt.map((label) => `| ${label} | not built yet | | | | |`),
  ]
  const mix = `${(100 * (1 - WRITE_SHARE - DATASET_SHARE)).toFixed(1)}% GET /users/:id (${USERS_READ} users), ${100 * DATASET_SHARE}% GET /dataset (${REGIONS.length} regions, a 20 ms query), ${100 * WRITE_SHARE}% PUT /users/:id`
  const machine = `Node ${process.version}, ${os.cpus().length} cores shared by autocannon, both replicas, PostgreSQL and Redis`
  return `${lines.join('\n')}\n\n${REPLICAS} replicas, ${CONNECTIONS} connections, ${seconds} s per run; ${mix}. ${machine}.`
}

let servers: Servers | undefined
let cleanedUp = false

async function cleanUp(): Promise<void> {
  if (cleanedUp) return
  cleanedUp = true
  await Promise.all([...live].map((replicas) => replicas.stop()))
  if (!servers) return
  await dropTables(servers.pool, schema)
  const keys = await deleteKeys(servers.redis, keyPrefix)
  await servers.close()
  console.log(`cleaned up: dropped schema ${schema}, deleted ${keys} Redis keys under ${keyPrefix}`)
}

function abort(reason: string): void {
  console.error(`http-service load: ${reason}`)
  cleanUp().finally(() => process.exit(1))
}
process.once('SIGINT', () => abort('interrupted'))
process.once('SIGTERM', () => abort('terminated'))
// Nothing may hang the CI gate: a run that overstays is stopped, cleaned up and failed.
const limitMs = (runs.length * (seconds + 5) + 90) * 1000
setTimeout(() => abort(`did not finish within ${limitMs / 1000} s`), limitMs).unref()

const started = performance.now()
let exitCode = 0
try {
  servers = await connectServers(databaseUrl, redisUrl)
  await createTables(servers.pool, schema)
  // Every pair starts at once (start-up is most of a short run's time); each waits idle for its turn.
  const pairs = await Promise.all(runs.map(({ mode }) => startPair(mode)))
  console.log(`${runs.length} pairs of replicas ready after ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const rows: Row[] = []
  for (const [i, { label }] of runs.entries()) rows.push(await measure(pairs[i] as Replicas, label))
  console.log(table(rows))

  if (short) {
    const [uncached, ...cached] = rows as [Row, ...Row[]]
    for (const row of cached) {
      const ratio = row.queriesPerRequest / uncached.queriesPerRequest
      if (!(ratio < 0.5)) {
        console.error(
          `FAIL: ${row.label}: ${ratio.toFixed(2)}x the origin queries per request of no cache (want < 0.5x)`,
        )
        exitCode = 1
      }
    }
    if (exitCode === 0) console.log('ok: every memokit run cut origin queries per request to under half of no cache')
  }
} catch (error) {
  console.error(`http-service load: ${(error as Error).message}`)
  exitCode = 1
} finally {
  await cleanUp()
}
process.exit(exitCode)
