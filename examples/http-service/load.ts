// The load test: two replicas of service.ts per cache policy, hit round-robin by autocannon, then a Markdown table.
// `pnpm start` is the short CI form (one 2 s round per policy) and fails unless memokit cut origin queries per
// request to under half of the uncached run; `pnpm run load` runs 3 rounds of 10 s per policy, interleaved, so that
// whatever else the machine does lands on every policy alike (LOAD_ROUNDS and LOAD_SECONDS change either). Both
// forms then check that a write through one replica is read on the other (through the bus, with two tiers).
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import autocannon from 'autocannon'
import { connectServers, createTables, deleteKeys, dropTables, REGIONS, type Servers, USER_COUNT } from './fixtures'
import { fetchJson, type Replicas, startReplicas } from './replicas'

const short = process.argv.includes('--short')
const rounds = Number(process.env.LOAD_ROUNDS ?? (short ? 1 : 3))
const seconds = Number(process.env.LOAD_SECONDS ?? (short ? 2 : 10))
const REPLICAS = 2
const CONNECTIONS = 16
const WRITE_SHARE = 0.001 // PUT /users/:id, which clears the whole users namespace, for every replica
// The full form reads users the way traffic usually does, a few hot and a long tail: ids drawn log-uniformly from
// 1..1000 (half of the reads go to the 31 hottest). The short form reads 20 users evenly, so that two seconds
// (maybe 200 requests on a busy CI machine) get past the cold cache.
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
  { mode: 'distributed', label: '+ distributed single-flight' },
  { mode: 'tiered', label: '+ two tiers (memory in front of Redis)' },
] as const
// How soon a rename through one replica must be read on the other: at once through Redis; with two tiers, once the
// bus has delivered the clear to the other replica's memory tier (milliseconds on one machine).
const WRITE_SEEN_WITHIN_MS = 1000

/** One autocannon run against one pair of replicas. */
interface Sample {
  requests: number
  originQueries: number
  seconds: number
  p50: number
  p99: number
  failed: number
}

const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T
const userId = short
  ? () => 1 + Math.floor(Math.random() * USERS_READ)
  : () => Math.floor((USERS_READ + 1) ** Math.random())
const userPath = () => `/users/${userId()}`

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

async function measure(replicas: Replicas): Promise<Sample> {
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
  return {
    requests: after.requests - before.requests,
    originQueries: after.originQueries - before.originQueries,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.errors + result.timeouts + result.non2xx,
  }
}

/**
 * Reads user 1 on the second replica (so a memory tier holds it), renames it through the first, then reads it on
 * the second until the new name shows: the ms from the PUT's response to that read, or Infinity past the limit.
 */
async function writeSeenAfter(replicas: Replicas): Promise<number> {
  const [writer, reader] = replicas.urls as [string, string]
  const name = `checked ${randomBytes(3).toString('hex')}`
  const read = () => fetchJson<{ name: string }>(`${reader}/users/1`)
  await read()
  const body = JSON.stringify({ name })
  await fetchJson(`${writer}/users/1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body })
  const written = performance.now()
  for (;;) {
    const seenAfter = performance.now() - written
    if ((await read()).name === name) return seenAfter
    if (seenAfter > WRITE_SEEN_WITHIN_MS) return Number.POSITIVE_INFINITY
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
const sum = (samples: Sample[], field: keyof Sample) => samples.reduce((total, s) => total + s[field], 0)
const queriesPerRequest = (samples: Sample[]) => sum(samples, 'originQueries') / sum(samples, 'requests')

function table(samples: Sample[][]): string {
  const lines = [
    '| run | requests/s | p50 (ms) | p99 (ms) | origin queries / request | failed requests |',
    '|---|---:|---:|---:|---:|---:|',
    ...runs.map(({ label }, i) => {
      const mine = samples[i] as Sample[]
      // Each round's own rate alongside, so a reader can see how much the machine's other work moved them.
      const each = mine.length > 1 ? ` (${mine.map((s) => Math.round(s.requests / s.seconds)).join(', ')})` : ''
      const perSecond = `${Math.round(sum(mine, 'requests') / sum(mine, 'seconds'))}${each}`
      const latency = `${median(mine.map((s) => s.p50))} | ${median(mine.map((s) => s.p99))}`
      return `| ${label} | ${perSecond} | ${latency} | ${queriesPerRequest(mine).toFixed(3)} | ${sum(mine, 'failed')} |`
    }),
  ]
  const users = short ? `${USERS_READ} users` : `${USERS_READ} users, log-uniform`
  const mix =
    `${(100 * (1 - WRITE_SHARE - DATASET_SHARE)).toFixed(1)}% GET /users/:id (${users}), ` +
    `${100 * DATASET_SHARE}% GET /dataset (${REGIONS.length} regions, a 20 ms query), ${100 * WRITE_SHARE}% PUT /users/:id`
  const how =
    `${REPLICAS} replicas per run, ${CONNECTIONS} connections, ${rounds} round(s) of ${seconds} s per run, ` +
    'interleaved; requests/s over all rounds (each round in brackets), p50 and p99 the median of the rounds'
  const machine =
    `Node ${process.version}, ${os.cpus().length} cores shared by autocannon, the replicas, PostgreSQL and Redis ` +
    `(load average ${os.loadavg()[0]?.toFixed(1)} at the end)`
  return `${lines.join('\n')}\n\n${how}; ${mix}. ${machine}.`
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
const limitMs = (rounds * runs.length * (seconds + 5) + 90) * 1000
setTimeout(() => abort(`did not finish within ${limitMs / 1000} s`), limitMs).unref()

const started = performance.now()
let exitCode = 0
try {
  servers = await connectServers(databaseUrl, redisUrl)
  await createTables(servers.pool, schema)
  // Every pair starts at once (start-up is most of a short run's time); each waits idle for its turn.
  const pairs = await Promise.all(runs.map(({ mode }) => startPair(mode)))
  console.log(`${runs.length} pairs of replicas ready after ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const samples: Sample[][] = runs.map(() => [])
  for (let round = 0; round < rounds; round++) {
    for (const [i, replicas] of pairs.entries()) samples[i]?.push(await measure(replicas))
  }
  console.log(table(samples))

  if (short) {
    const [uncached, ...cached] = samples.map(queriesPerRequest) as [number, ...number[]]
    for (const [i, perRequest] of cached.entries()) {
      const ratio = perRequest / uncached
      if (!(ratio < 0.5)) {
        const { label } = runs[i + 1] as (typeof runs)[number]
        console.error(`FAIL: ${label}: ${ratio.toFixed(2)}x the origin queries per request of no cache (want < 0.5x)`)
        exitCode = 1
      }
    }
    if (exitCode === 0) console.log('ok: every memokit run cut origin queries per request to under half of no cache')
  }

  const seenAfter: number[] = []
  for (const replicas of pairs) seenAfter.push(await writeSeenAfter(replicas))
  const each = runs.map(({ mode }, i) => `${mode} ${seenAfter[i]?.toFixed(0)}`).join(', ')
  console.log(`a rename through one replica was read on the other after (ms): ${each}`)
  if (!seenAfter.every(Number.isFinite)) {
    console.error(`FAIL: a replica still read the old name ${WRITE_SEEN_WITHIN_MS} ms after the write`)
    exitCode = 1
  }
} catch (error) {
  console.error(`http-service load: ${(error as Error).message}`)
  exitCode = 1
} finally {
  await cleanUp()
}
process.exit(exitCode)
