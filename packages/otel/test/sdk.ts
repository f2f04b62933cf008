// The real OpenTelemetry SDK with in-memory exporters, and a real file storage with faults switched on by the test.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AsyncStorage } from '@memokit/core'
import { fileStorage } from '@memokit/file'
import { type Attributes, context, propagation, trace } from '@opentelemetry/api'
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

export const uniqueNamespace = (label = 'ns'): string => `${label}-${Math.random().toString(36).slice(2)}`

/** A MeterProvider whose metrics the test collects on demand. */
export function metricsSdk() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // The interval never fires during a test: collect() flushes by hand.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  /** The latest value of every metric, by name. */
  const collect = async (): Promise<Map<string, MetricData>> => {
    exporter.reset()
    await reader.forceFlush()
    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))
    return new Map(metrics.map((m) => [m.descriptor.name, m]))
  }
  return { meterProvider, collect, shutdown: () => meterProvider.shutdown() }
}

/** The points of a sum or gauge as `{ attributes, value }`, or a histogram's as `{ attributes, count }`. */
export function points(metric: MetricData | undefined): { attributes: Attributes; value: number }[] {
  if (metric === undefined) return []
  return metric.dataPoints.map((p) => ({
    attributes: p.attributes,
    value:
      metric.dataPointType === DataPointType.HISTOGRAM ? (p.value as { count: number }).count : (p.value as number),
  }))
}

/** The value of the point whose attributes include `match`'s, summed over every such point. */
export function sumWhere(metric: MetricData | undefined, match: Attributes): number {
  return points(metric)
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + p.value, 0)
}

/**
 * A tracer provider exporting to memory. `register`: as in production, NodeTracerProvider registers itself
 * globally with the AsyncLocalStorage context manager; otherwise a BasicTracerProvider with no context manager.
 */
export function tracesSdk(register: boolean) {
  const exporter = new InMemorySpanExporter()
  const spanProcessors = [new SimpleSpanProcessor(exporter)]
  const tracerProvider = register
    ? new NodeTracerProvider({ spanProcessors })
    : new BasicTracerProvider({ spanProcessors })
  if (tracerProvider instanceof NodeTracerProvider) tracerProvider.register()
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans()
  const named = (name: string): ReadableSpan[] => spans().filter((s) => s.name === name)
  const shutdown = async () => {
    await tracerProvider.shutdown()
    if (!register) return
    trace.disable()
    context.disable()
    propagation.disable()
  }
  return { tracerProvider, spans, named, shutdown }
}

/** The parent's span id, or undefined for a root span. */
export const parentOf = (span: ReadableSpan | undefined): string | undefined => span?.parentSpanContext?.spanId

/** A real async file storage in a temporary directory; `down.get` makes reads fail like a lost disk. */
export function faultyFileStorage(): { storage: AsyncStorage; down: { get: boolean }; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'memokit-otel-'))
  const inner = fileStorage({ dir, prefix: 'otel-test' })
  const down = { get: false }
  const storage: AsyncStorage = {
    async: true,
    name: 'faulty-file',
    get: (ns, key) => (down.get ? Promise.reject(new Error('disk gone')) : inner.get(ns, key)),
    set: (ns, key, value, options) => inner.set(ns, key, value, options),
    delete: (ns, key) => inner.delete(ns, key),
    clear: (ns, prefix) => inner.clear(ns, prefix),
  }
  return { storage, down, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
