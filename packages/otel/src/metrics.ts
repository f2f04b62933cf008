/** The metrics: instruments on one Meter, fed by handlers for memokit's channels. */
import type { CallMessage, ComputeMessage, EventMessage, StorageMessage } from '@memokit/core'
import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api'
import { ATTR } from './attributes'
import type { TraceHandlers } from './channels'

/** True once memokit published the trace's `error` (a function may reject with `undefined`). */
export const failed = (m: object): boolean => Object.hasOwn(m, 'error')

/** Storage operations are sub-millisecond to seconds (a timeout); `fn` runs from a millisecond to a minute. */
const STORAGE_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const COMPUTE_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

export interface MetricHandlers {
  call: TraceHandlers<CallMessage>
  compute: TraceHandlers<ComputeMessage>
  storage: TraceHandlers<StorageMessage>
  event: (message: EventMessage) => void
  /** Detaches the breaker gauge's callback. */
  dispose(): void
}

/** Calls `finish` once per trace: at `end` for a sync result, at `asyncEnd` when the traced function returned a Promise. */
export function onceDone<M extends { async?: boolean }>(
  start: ((m: M) => void) | undefined,
  finish: (m: M) => void,
): TraceHandlers<M> {
  return {
    ...(start === undefined ? {} : { start }),
    end: (m) => {
      if (m.async !== true) finish(m)
    },
    asyncEnd: finish,
  }
}

export function createMetrics(meter: Meter): MetricHandlers {
  // An asynchronous counter over tallies kept here: a hit costs a few map lookups and an increment, where a
  // synchronous counter's add() would hash its attributes on every call.
  const calls = meter.createObservableCounter('memokit.calls', {
    description: 'Cached calls, by outcome (exactly one per call)',
    unit: '{call}',
  })
  const computeDuration = meter.createHistogram('memokit.compute.duration', {
    description: 'How long each run of the cached function took (background refreshes included)',
    unit: 's',
    advice: { explicitBucketBoundaries: COMPUTE_BUCKETS_S },
  })
  const computeActive = meter.createUpDownCounter('memokit.compute.active', {
    description: 'Runs of cached functions in progress',
    unit: '{computation}',
  })
  const storageDuration = meter.createHistogram('memokit.storage.duration', {
    description: 'How long each storage operation took',
    unit: 's',
    advice: { explicitBucketBoundaries: STORAGE_BUCKETS_S },
  })
  const events = meter.createCounter('memokit.events', {
    description:
      "Point events: breaker-open, breaker-close, stale-if-error, late-result, not-cached, and a two-tier storage's bus-up, bus-down, bus-gap, bus-dropped, bus-publish-failed, bus-subscribe-failed, bus-unreadable, and the leases' lease-acquired, lease-lost, lease-wait-timeout, lease-unavailable",
    unit: '{event}',
  })
  const breakerState = meter.createObservableGauge('memokit.breaker.state', {
    description: "Each storage's circuit breaker: 1 open (the storage is skipped), 0 closed",
    unit: '1',
  })

  const breakers = new Map<string, 0 | 1>()
  const observeBreakers = (result: ObservableResult) => {
    for (const [storage, state] of breakers) result.observe(state, { [ATTR.storage]: storage })
  }
  breakerState.addCallback(observeBreakers)
  const tally = createCallTally()
  calls.addCallback(tally.observe)

  // Trace context objects are unique per trace: their start times live beside them, never on them.
  // A trace whose start this instrumentation did not see (it began under one taken off since) has no duration here,
  // and was never counted as running: its end is skipped, so the gauge doesn't go below zero.
  const started = new WeakMap<object, number>()
  const begin = (m: object) => started.set(m, performance.now())
  const seconds = (m: object): number | undefined => {
    const at = started.get(m)
    if (at === undefined) return undefined
    started.delete(m)
    return (performance.now() - at) / 1000
  }
  const computeAttributes = (m: ComputeMessage): Attributes => ({
    [ATTR.namespace]: m.namespace,
    [ATTR.function]: m.functionName,
    [ATTR.background]: m.background,
  })

  return {
    // memokit's hit paths look at memokit:call's start channel only: subscribe it, even with nothing to do.
    call: onceDone<CallMessage>(() => {}, tally.add),
    compute: onceDone<ComputeMessage>(
      (m) => {
        begin(m)
        computeActive.add(1, computeAttributes(m))
      },
      (m) => {
        const took = seconds(m)
        if (took === undefined) return
        const attributes = computeAttributes(m)
        computeActive.add(-1, attributes)
        computeDuration.record(took, {
          ...attributes,
          [ATTR.reason]: m.reason,
          [ATTR.result]: failed(m) ? 'error' : 'ok',
        })
      },
    ),
    storage: onceDone<StorageMessage>(begin, (m) => {
      const took = seconds(m)
      if (took === undefined) return
      storageDuration.record(took, {
        [ATTR.storage]: m.storage,
        [ATTR.op]: m.op,
        [ATTR.result]: m.status ?? (failed(m) ? 'error' : 'ok'),
      })
    }),
    event: (m) => {
      if (m.type === 'breaker-open') breakers.set(m.storage, 1)
      else if (m.type === 'breaker-close') breakers.set(m.storage, 0)
      const attributes: Attributes = { [ATTR.event]: m.type, [ATTR.storage]: m.storage }
      if (m.namespace !== undefined) attributes[ATTR.namespace] = m.namespace
      if (m.functionName !== undefined) attributes[ATTR.function] = m.functionName
      if (m.reason !== undefined) attributes[ATTR.reason] = m.reason
      events.add(1, attributes)
    },
    dispose: () => {
      breakerState.removeCallback(observeBreakers)
      calls.removeCallback(tally.observe)
    },
  }
}

type Counts = Map<string, number>

/** Call counts by namespace, function, tier and outcome: nested maps, so a call costs lookups of strings V8 has hashed. */
function createCallTally(): { add(m: CallMessage): void; observe(result: ObservableResult): void } {
  const tree = new Map<string, Map<string, Map<string, Counts>>>()
  const branch = <K, V>(map: Map<K, V>, key: K, make: () => V): V => {
    const found = map.get(key)
    if (found !== undefined) return found
    const made = make()
    map.set(key, made)
    return made
  }
  return {
    add: (m) => {
      const byOutcome = branch(
        branch(
          branch(tree, m.namespace, () => new Map()),
          m.functionName,
          () => new Map(),
        ),
        m.tier,
        () => new Map<string, number>(),
      )
      const outcome = m.outcome ?? 'error'
      byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1)
    },
    observe: (result) => {
      for (const [namespace, functions] of tree) {
        for (const [name, tiers] of functions) {
          for (const [tier, counts] of tiers) {
            for (const [outcome, count] of counts) {
              result.observe(count, {
                [ATTR.namespace]: namespace,
                [ATTR.function]: name,
                [ATTR.outcome]: outcome,
                [ATTR.tier]: tier,
              })
            }
          }
        }
      }
    },
  }
}
