// Observability example: a small node:http service whose cached reads are measured with @memokit/otel. It runs a
// short load against itself, then prints its /metrics (Prometheus text), a request's trace and a background
// refresh's trace, and checks that every metric the Grafana dashboard (grafana-dashboard.json) queries exists.
//   pnpm --filter @memokit/example-observability start
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cacheValue, memoryStorage } from '@memokit/core'
import { fileStorage } from '@memokit/file'
import { ATTR } from '@memokit/otel'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { finishedSpans, serveMetrics, shutdownTelemetry, tracer, traceTree } from './telemetry'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Stands in for a database: 5-15 ms per query.
async function loadUser(id: number): Promise<{ id: number; name: string }> {
  await sleep(5 + Math.random() * 10)
  return { id, name: `user ${id}` }
}
// Stands in for a flaky upstream: one call in four fails.
async function fetchPrice(sku: string): Promise<{ sku: string; cents: number }> {
  await sleep(2 + Math.random() * 6)
  if (Math.random() < 0.25) throw new Error(`price service timed out for ${sku}`)
  return { sku, cents: 100 + sku.length }
}

// Users in process memory; entries go stale after 50 ms and refresh in the background for a minute after that.
const users = cacheValue(loadUser, {
  storage: memoryStorage(),
  namespace: 'users',
  name: 'users.byId',
  ttl: 50,
  swr: '1m',
})
// Prices in a file storage (a remote-tier storage: every get and set is timed); a failed refresh serves the last
// good price for an hour.
const dir = mkdtempSync(join(tmpdir(), 'memokit-observability-'))
const prices = cacheValue(fetchPrice, {
  storage: fileStorage({ dir, prefix: 'example' }),
  namespace: 'prices',
  name: 'prices.bySku',
  ttl: 50,
  staleIfError: '1h',
  onError: () => {}, // the metrics count these; the example keeps its output short
})

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost')
  if (url.pathname === '/metrics') return serveMetrics(request, response)
  const [, resource, id = ''] = url.pathname.split('/')
  const route = `GET /${resource}/:id`
  // An HTTP instrumentation would start this span; memokit's spans nest under whichever span is active.
  tracer.startActiveSpan(route, { kind: SpanKind.SERVER }, async (span) => {
    try {
      const body = resource === 'users' ? await users(Number(id)) : await prices(id)
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR })
      response.writeHead(502).end(String(error))
    } finally {
      span.end()
    }
  })
})
server.listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

// The load: 8 clients, 300 requests over 30 users and 8 products, for about a second.
let sent = 0
const started = performance.now()
const client = async () => {
  while (sent < 300) {
    sent++
    const path =
      Math.random() < 0.7 ? `/users/${Math.floor(Math.random() * 30)}` : `/prices/sku-${Math.floor(Math.random() * 8)}`
    await (await fetch(base + path)).text()
    await sleep(Math.random() * 10)
  }
}
await Promise.all(Array.from({ length: 8 }, client))
await sleep(50) // lets the last background refreshes finish
console.log(`${sent} requests in ${((performance.now() - started) / 1000).toFixed(1)} s\n`)

const metrics = await (await fetch(`${base}/metrics`)).text()
// Histogram buckets make the output long; their _count and _sum lines stay.
const shown = metrics.split('\n').filter((line) => line.startsWith('memokit_') && !line.includes('_bucket{'))
console.log(`# /metrics (memokit series, without histogram buckets)\n${shown.join('\n')}\n`)

const spans = finishedSpans()
const request = spans.find((s) => s.name === 'GET /users/:id' && s.parentSpanContext === undefined)
const refresh = spans.find((s) => s.name === 'memokit.compute' && s.attributes['memokit.background'] === true)
if (request) console.log(`# a request's trace\n${traceTree(request)}\n`)
if (refresh)
  console.log(
    `# a background refresh: a trace of its own, linked to the call that triggered it\n${traceTree(refresh)}\n`,
  )

// Every metric the dashboard queries must be one this service exposes.
const dashboard = readFileSync(new URL('./grafana-dashboard.json', import.meta.url), 'utf8')
const labels = new Set(Object.values(ATTR).map((name) => name.replaceAll('.', '_')))
const queried = new Set(
  [...dashboard.matchAll(/\b(memokit_[a-z_]+?)(?:_bucket|_count|_sum)?\b/g)]
    .map((m) => m[1] as string)
    .filter((name) => !labels.has(name)),
)
const exposed = new Set([...metrics.matchAll(/^# TYPE (memokit_\w+) /gm)].map((m) => m[1]))
// The breaker gauge appears once a breaker opens or closes: a healthy run has none.
const missing = [...queried].filter((name) => !exposed.has(name) && name !== 'memokit_breaker_state')
const checks = [
  [
    queried.size >= 5 && missing.length === 0,
    `the dashboard's ${queried.size} metrics are exposed (missing: ${missing.join(', ') || 'none'})`,
  ],
  [/memokit_outcome="hit"/.test(metrics), 'hits were counted'],
  [/memokit_outcome="stale"/.test(metrics), 'stale hits were counted'],
  [request !== undefined && traceTree(request).includes('memokit.call'), 'memokit.call nests under the request span'],
  [
    refresh !== undefined && refresh.parentSpanContext === undefined && refresh.links.length === 1,
    'a background refresh is a linked root span',
  ],
] as const
for (const [ok, what] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`)

server.close()
await shutdownTelemetry()
rmSync(dir, { recursive: true, force: true })
if (checks.some(([ok]) => !ok)) process.exit(1)
