// The names an operator queries: memokit's metrics as the Prometheus exporter exposes them (what the Grafana
// dashboard in examples/observability reads), and the instrumentation scope's version.
import { readFileSync } from 'node:fs'
import { afterEach, expect, it } from '@jest/globals'
import { cacheValue, memoryStorage } from '@memokit/core'
import { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, instrumentMemokit } from '@memokit/otel'
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { faultyFileStorage, uniqueNamespace } from './sdk'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

it('exposes memokit_calls_total, the duration histograms, running computations, breaker state and events', async () => {
  const exporter = new PrometheusExporter({ preventServerStart: true })
  const meterProvider = new MeterProvider({ readers: [exporter] })
  const instrumentation = instrumentMemokit({ meterProvider, traces: false })
  cleanups.push(
    () => meterProvider.shutdown(),
    () => instrumentation.uninstrument(),
  )
  const file = faultyFileStorage()
  cleanups.push(file.remove)
  const namespace = uniqueNamespace()
  const local = cacheValue(async (n: number) => n, { storage: memoryStorage(), namespace, name: 'local' })
  const remote = cacheValue(async (n: number) => n, {
    storage: file.storage,
    namespace,
    name: 'remote',
    onError: () => {},
    circuitBreaker: { failures: 1, cooldownMs: 60_000 },
  })
  await local(1)
  await local(1)
  await remote(1)
  file.down.get = true
  await remote(2)

  const text = new PrometheusSerializer().serialize((await exporter.collect()).resourceMetrics)
  const families = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`))
  expect([...families].filter((f) => f.startsWith('memokit_')).sort()).toEqual([
    'memokit_breaker_state gauge',
    'memokit_calls_total counter',
    'memokit_compute_active gauge',
    'memokit_compute_duration histogram',
    'memokit_events_total counter',
    'memokit_storage_duration histogram',
  ])
  expect(text).toMatch(
    new RegExp(
      `^memokit_calls_total\\{memokit_namespace="${namespace}",memokit_function="local",memokit_outcome="hit",memokit_tier="local",`,
      'm',
    ),
  )
  expect(text).toMatch(/^memokit_breaker_state\{memokit_storage="faulty-file",.*\} 1$/m)
  expect(text).toMatch(
    /^memokit_storage_duration_bucket\{memokit_storage="faulty-file",memokit_op="get",memokit_result="error",/m,
  )
  expect(text).toContain(`otel_scope_name="${INSTRUMENTATION_NAME}",otel_scope_version="${INSTRUMENTATION_VERSION}"`)
})

it("reports the package's version as the instrumentation scope's", () => {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', `file://${__filename}`), 'utf8'))
  expect(INSTRUMENTATION_VERSION).toBe(manifest.version)
  expect(INSTRUMENTATION_NAME).toBe(manifest.name)
})
