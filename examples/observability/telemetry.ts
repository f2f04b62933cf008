// OpenTelemetry for the example: spans kept in memory (printed as trees at the end), metrics in Prometheus' text
// format served by the service itself at /metrics, and memokit instrumented on both.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { instrumentMemokit } from '@memokit/otel'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

const spans = new InMemorySpanExporter()
const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
// Registers the global tracer provider and the AsyncLocalStorage context manager memokit's spans nest through.
tracerProvider.register()
// `preventServerStart`: the service serves /metrics itself; `new PrometheusExporter({ port: 9464 })` would start a
// metrics server of its own instead.
const prometheus = new PrometheusExporter({ preventServerStart: true })
const meterProvider = new MeterProvider({ readers: [prometheus] })
const instrumentation = instrumentMemokit({ meterProvider })

export const tracer = tracerProvider.getTracer('example-observability')

/** The /metrics endpoint. */
export const serveMetrics = (request: IncomingMessage, response: ServerResponse): void =>
  prometheus.getMetricsRequestHandler(request, response)

export async function shutdownTelemetry(): Promise<void> {
  instrumentation.uninstrument()
  await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()])
}

export const finishedSpans = (): ReadableSpan[] => spans.getFinishedSpans()

/** The spans of `root`'s trace as an indented tree, with the attributes that tell what memokit did. */
export function traceTree(root: ReadableSpan): string {
  const all = finishedSpans().filter((s) => s.spanContext().traceId === root.spanContext().traceId)
  const lines: string[] = []
  const visit = (span: ReadableSpan, depth: number) => {
    const a = span.attributes
    const facts = [
      a['memokit.outcome'] && `outcome=${a['memokit.outcome']}`,
      a['memokit.reason'] && `reason=${a['memokit.reason']}`,
      a['memokit.background'] === true && 'background',
      a['memokit.result'] && `result=${a['memokit.result']}`,
      span.links.length > 0 &&
        `linked to span ${span.links[0]?.context.spanId} of trace ${span.links[0]?.context.traceId}`,
    ].filter(Boolean)
    const ms = (span.duration[0] * 1e3 + span.duration[1] / 1e6).toFixed(1)
    lines.push(`${'  '.repeat(depth)}${span.name} ${ms} ms ${facts.join(' ')}`.trimEnd())
    for (const child of all.filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId)) {
      visit(child, depth + 1)
    }
  }
  visit(root, 1)
  return lines.join('\n')
}
