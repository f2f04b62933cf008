/**
 * The spans: `memokit.call`, `memokit.compute` and `memokit.storage.<op>`, started where memokit's traces start (the
 * `start` store transform, so each one is the active span while its operation runs) and ended where they end.
 */
import type { CallMessage, ComputeMessage, EventMessage, StorageMessage } from '@memokit/core'
import {
  type Attributes,
  type Context,
  type Link,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import { ATTR, CACHE_HIT_OUTCOMES } from './attributes'
import type { TraceHandlers } from './channels'
import { onceDone } from './metrics'

export interface SpanChannel<M> {
  /** The `start` store transform: starts the span and returns the context that makes it active. */
  transform(message: M): Context
  handlers: TraceHandlers<M>
}

export interface SpanHooks {
  call: SpanChannel<CallMessage>
  compute: SpanChannel<ComputeMessage>
  storage: SpanChannel<StorageMessage>
  event: (message: EventMessage) => void
}

const withKey = (attributes: Attributes, key: string | undefined): Attributes => {
  if (key !== undefined) attributes[ATTR.key] = key
  return attributes
}

/**
 * `active` returns the context a new span starts under (OpenTelemetry's active context, or the fallback store's);
 * `enter` makes a context the store's for the rest of the current callback.
 */
export function createSpans(tracer: Tracer, active: () => Context, enter: (context: Context) => void): SpanHooks {
  const spans = new WeakMap<object, Span>()
  const start = (m: object, name: string, attributes: Attributes, parent: Context, links?: Link[]): Context => {
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes, ...(links && { links }) }, parent)
    spans.set(m, span)
    return trace.setSpan(parent, span)
  }
  const error = (m: { error?: unknown }) => {
    const span = spans.get(m)
    if (span === undefined) return
    const thrown = m.error
    span.recordException(thrown instanceof Error ? thrown : String(thrown))
    span.setStatus({ code: SpanStatusCode.ERROR, message: thrown instanceof Error ? thrown.message : String(thrown) })
  }
  const finish = (m: object, attributes: Attributes) => {
    const span = spans.get(m)
    if (span === undefined) return
    spans.delete(m)
    span.setAttributes(attributes)
    span.end()
  }

  return {
    call: {
      transform: (m) =>
        start(
          m,
          'memokit.call',
          withKey(
            {
              [ATTR.namespace]: m.namespace,
              [ATTR.function]: m.functionName,
              [ATTR.storage]: m.storage,
              [ATTR.tier]: m.tier,
            },
            m.key,
          ),
          active(),
        ),
      handlers: {
        ...onceDone<CallMessage>(undefined, (m) =>
          finish(m, {
            [ATTR.outcome]: m.outcome ?? 'error',
            [ATTR.cacheHit]: CACHE_HIT_OUTCOMES.has(m.outcome ?? 'error'),
          }),
        ),
        error,
      },
    },
    compute: {
      transform: (m) => {
        const attributes = withKey(
          {
            [ATTR.namespace]: m.namespace,
            [ATTR.function]: m.functionName,
            [ATTR.storage]: m.storage,
            [ATTR.reason]: m.reason,
            [ATTR.background]: m.background,
          },
          m.key,
        )
        const parent = active()
        if (!m.background) return start(m, 'memokit.compute', attributes, parent)
        // A refresh behind a stale hit outlives the request that triggered it: it gets a trace of its own, linked
        // to the call (the active span when it was scheduled), instead of a child of a span that has ended.
        const trigger = trace.getSpan(parent)?.spanContext()
        const links = trigger === undefined ? [] : [{ context: trigger }]
        const root = start(m, 'memokit.compute', attributes, trace.deleteSpan(parent), links)
        // memokit runs each background refresh in a callback of its own (setImmediate) that inherited the request's
        // context, and writes the result after fn's trace has ended, still in that callback. Entering the refresh's
        // context for the rest of the callback keeps that write in the refresh's trace, not the ended request's.
        // (runStores then finds the store already holding this context and leaves it in place.)
        enter(root)
        return root
      },
      handlers: { ...onceDone<ComputeMessage>(undefined, (m) => finish(m, {})), error },
    },
    storage: {
      transform: (m) =>
        start(
          m,
          `memokit.storage.${m.op}`,
          withKey({ [ATTR.storage]: m.storage, [ATTR.op]: m.op, [ATTR.namespace]: m.namespace }, m.key),
          active(),
        ),
      handlers: {
        ...onceDone<StorageMessage>(undefined, (m) => finish(m, { [ATTR.result]: m.status ?? 'error' })),
        error,
      },
    },
    event: (m) => {
      // On the span of the call or computation that hit it, if one is still open.
      const span = trace.getSpan(active())
      if (span?.isRecording()) span.addEvent(`memokit.${m.type}`, { [ATTR.storage]: m.storage })
    },
  }
}
