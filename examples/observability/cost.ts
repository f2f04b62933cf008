// What instrumentation costs a memory hit: the same sync hit (one number argument, 128 hot keys, as bench S1)
// without any subscriber, with @memokit/otel recording metrics, and with metrics and spans (sampled, and not).
// Rounds interleave the configurations (instrumenting and uninstrumenting between slices); medians of ns per hit.
//   pnpm --filter @memokit/example-observability run cost
import diagnostics from 'node:diagnostics_channel'
import { CHANNELS, cacheValue, memoryStorage } from '@memokit/core'
import { instrumentMemokit, type MemokitInstrumentationOptions } from '@memokit/otel'
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

/** A reader nobody collects from: what the hot path pays is recording, not exporting. */
class IdleReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
/** Spans go through the batch processor, then nowhere: the hot path pays creating and queueing them. */
const discard: SpanExporter = {
  export: (_spans: ReadableSpan[], done: (result: { code: 0 }) => void) => done({ code: 0 }),
  shutdown: async () => {},
}

const meterProvider = new MeterProvider({ readers: [new IdleReader()] })
// Registered as in production: the AsyncLocalStorage context manager carries memokit's spans.
const sampled = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] })
sampled.register()
const unsampled = new BasicTracerProvider({ sampler: new AlwaysOffSampler() })

/** A subscriber that records nothing: what memokit's observed path itself costs (core's part, not this package's). */
const bare = {
  end: () => {},
  asyncEnd: () => {},
}
const callChannel = (diagnostics as unknown as { tracingChannel(name: string): TracingChannel }).tracingChannel(
  CHANNELS.call,
)
interface TracingChannel {
  subscribe(handlers: typeof bare): void
  unsubscribe(handlers: typeof bare): void
}

const configs: [string, MemokitInstrumentationOptions | 'bare' | undefined][] = [
  ['no subscriber', undefined],
  ['a subscriber that records nothing', 'bare'],
  ['metrics', { meterProvider, traces: false }],
  ['metrics + spans, not sampled', { meterProvider, tracerProvider: unsampled }],
  ['metrics + spans, sampled', { meterProvider, tracerProvider: sampled }],
]

const hit = cacheValue((n: number) => n * 2, { storage: memoryStorage(), namespace: 'cost', name: 'double' })
for (let i = 0; i < 128; i++) hit(i)

function slice(ms: number): number {
  let calls = 0
  const until = performance.now() + ms
  while (performance.now() < until) {
    for (let i = 0; i < 1_000; i++) hit(i & 127)
    calls += 1_000
  }
  return (ms * 1e6) / calls
}

const ROUNDS = Number(process.env.ROUNDS ?? 15)
const SLICE_MS = Number(process.env.SLICE_MS ?? 150)
const samples = configs.map(() => [] as number[])
for (let round = -2; round < ROUNDS; round++) {
  configs.forEach(([, options], index) => {
    if (options === 'bare') callChannel.subscribe(bare)
    const instrumentation = options === undefined || options === 'bare' ? undefined : instrumentMemokit(options)
    const ns = slice(SLICE_MS)
    instrumentation?.uninstrument()
    if (options === 'bare') callChannel.unsubscribe(bare)
    if (round >= 0) samples[index]?.push(ns)
  })
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
const base = median(samples[0] ?? [])
console.log('| configuration | ns per memory hit (median) | vs no subscriber |')
console.log('|---|---:|---:|')
configs.forEach(([label], index) => {
  const ns = median(samples[index] ?? [])
  console.log(`| ${label} | ${ns.toFixed(0)} | ${(ns / base).toFixed(1)}x |`)
})
await Promise.all([meterProvider.shutdown(), sampled.shutdown(), unsampled.shutdown()])
