/** `instrumentMemokit`: subscribes the metrics and spans to memokit's channels, and takes them off again. */
import { AsyncLocalStorage } from 'node:async_hooks'
import {
  type CallMessage,
  CHANNELS,
  type ComputeMessage,
  ConfigError,
  type EventMessage,
  type StorageMessage,
} from '@memokit/core'
import { describeValue, rejectUnknownOptions } from '@memokit/core/backend'
import { type Context, context, type MeterProvider, metrics, type TracerProvider, trace } from '@opentelemetry/api'
import { bindStart, globalContextStorage, subscribeChannel, subscribeTrace } from './channels'
import { createMetrics } from './metrics'
import { createSpans } from './spans'

/** The instrumentation scope's name, as exporters show it (Prometheus: `otel_scope_name`). */
export const INSTRUMENTATION_NAME = '@memokit/otel'
/** The instrumentation scope's version: this package's version (a test keeps them equal). */
export const INSTRUMENTATION_VERSION = '0.1.0'

/** Options of {@link instrumentMemokit}. */
export interface MemokitInstrumentationOptions {
  /** Where the metrics go. Default: the global MeterProvider (the one NodeSDK or `metrics.setGlobalMeterProvider` set). */
  readonly meterProvider?: MeterProvider
  /** Where the spans go. Default: the global TracerProvider. */
  readonly tracerProvider?: TracerProvider
  /** Record metrics. Default: true. */
  readonly metrics?: boolean
  /** Record spans. Default: true. */
  readonly traces?: boolean
  /**
   * The AsyncLocalStorage behind OpenTelemetry's active context, to make memokit's spans active while their
   * operations run (so spans started inside your function nest under `memokit.compute`). Default: the storage of
   * the global `AsyncLocalStorageContextManager`, which NodeSDK and NodeTracerProvider register. Without one,
   * memokit's spans still nest under the caller's active span and under each other, but spans your function starts
   * nest under the caller's span instead of `memokit.compute`.
   */
  readonly contextStorage?: AsyncLocalStorage<Context>
}

/** A running instrumentation. */
export interface MemokitInstrumentation {
  /** Unsubscribes from memokit's channels: from then on memokit publishes nothing and records nothing. */
  uninstrument(): void
}

const KNOWN = ['meterProvider', 'tracerProvider', 'metrics', 'traces', 'contextStorage'] as const
const USAGE = 'instrumentMemokit({ meterProvider, tracerProvider })'

// One instrumentation at a time: two would count every call twice and fight over the context store's binding.
let running: MemokitInstrumentation | undefined

function check(options: unknown): MemokitInstrumentationOptions {
  rejectUnknownOptions('instrumentMemokit', options, KNOWN, USAGE)
  const expect = (name: string, ok: boolean, what: string) => {
    const value = options[name]
    if (value !== undefined && !ok) {
      throw new ConfigError(name, `instrumentMemokit: ${name} must be ${what}, got ${describeValue(value)}`)
    }
  }
  const has = (name: string, method: string) =>
    typeof (options[name] as Record<string, unknown> | null)?.[method] === 'function'
  expect('meterProvider', has('meterProvider', 'getMeter'), 'a MeterProvider (with getMeter)')
  expect('tracerProvider', has('tracerProvider', 'getTracer'), 'a TracerProvider (with getTracer)')
  expect('metrics', typeof options.metrics === 'boolean', 'true or false')
  expect('traces', typeof options.traces === 'boolean', 'true or false')
  expect('contextStorage', options.contextStorage instanceof AsyncLocalStorage, 'an AsyncLocalStorage')
  return options as MemokitInstrumentationOptions
}

/**
 * Records memokit's calls, computations, storage operations and events as OpenTelemetry metrics and spans, by
 * subscribing to the `memokit:*` diagnostics channels. Call it after the OpenTelemetry SDK has started (so the
 * global providers and context manager exist), once per process; `uninstrument()` undoes it. Throws a ConfigError
 * for a wrong option, or while another instrumentation is running.
 */
export function instrumentMemokit(options: MemokitInstrumentationOptions = {}): MemokitInstrumentation {
  const checked = check(options)
  if (running !== undefined) {
    throw new ConfigError(
      'instrumentMemokit',
      'instrumentMemokit: memokit is already instrumented; call uninstrument() on the running instrumentation first',
    )
  }
  const undo: (() => void)[] = []
  try {
    subscribe(checked, undo)
  } catch (error) {
    // A provider that throws (getMeter, getTracer) leaves nothing subscribed: nothing would ever take it off.
    for (const step of undo.splice(0).reverse()) step()
    throw error
  }
  const instrumentation: MemokitInstrumentation = {
    uninstrument: () => {
      if (running !== instrumentation) return
      running = undefined
      for (const step of undo.splice(0).reverse()) step()
    },
  }
  running = instrumentation
  return instrumentation
}

/** Subscribes the metrics and spans `checked` asks for, pushing each undo step as it goes. */
function subscribe(checked: MemokitInstrumentationOptions, undo: (() => void)[]): void {
  if (checked.metrics !== false) {
    const meter = (checked.meterProvider ?? metrics.getMeterProvider()).getMeter(
      INSTRUMENTATION_NAME,
      INSTRUMENTATION_VERSION,
    )
    const handlers = createMetrics(meter)
    undo.push(
      subscribeTrace<CallMessage>(CHANNELS.call, handlers.call),
      subscribeTrace<ComputeMessage>(CHANNELS.compute, handlers.compute),
      subscribeTrace<StorageMessage>(CHANNELS.storage, handlers.storage),
      subscribeChannel<EventMessage>(CHANNELS.event, handlers.event),
      handlers.dispose,
    )
  }
  if (checked.traces !== false) {
    const tracer = (checked.tracerProvider ?? trace.getTracerProvider()).getTracer(
      INSTRUMENTATION_NAME,
      INSTRUMENTATION_VERSION,
    )
    const global = checked.contextStorage ?? globalContextStorage()
    // Without OpenTelemetry's store, a store of our own still carries memokit's spans from call to compute.
    const store = global ?? new AsyncLocalStorage<Context>()
    const active = global !== undefined ? () => context.active() : () => store.getStore() ?? context.active()
    const spans = createSpans(tracer, active, (entered) => store.enterWith(entered))
    undo.push(
      bindStart<CallMessage>(CHANNELS.call, store, spans.call.transform),
      subscribeTrace<CallMessage>(CHANNELS.call, spans.call.handlers),
      bindStart<ComputeMessage>(CHANNELS.compute, store, spans.compute.transform),
      subscribeTrace<ComputeMessage>(CHANNELS.compute, spans.compute.handlers),
      bindStart<StorageMessage>(CHANNELS.storage, store, spans.storage.transform),
      subscribeTrace<StorageMessage>(CHANNELS.storage, spans.storage.handlers),
      subscribeChannel<EventMessage>(CHANNELS.event, spans.event),
    )
  }
}
