import diagnostics from 'node:diagnostics_channel'
import { afterAll, afterEach, describe, expect, it } from '@jest/globals'
import { CHANNELS, cacheValue, type ErrorReport, type EventMessage, memoryStorage } from '@memokit/core'

// A memory storage is never skipped by the circuit breaker (docs/cache-value.md), but a memory write can fail: a
// `sizeCalculation` that returns a bad size fails that write (docs/storages.md). After `failures` such failures in
// a row, core reported "skipping the storage for N ms (circuitBreaker)" and published `breaker-open`, though the
// storage kept being read and written: operators (onError, @memokit/otel's breaker gauge) were told of an open
// circuit that never skipped anything.
const events: EventMessage[] = []
const onEvent = (message: unknown): void => {
  events.push(message as EventMessage)
}
diagnostics.subscribe(CHANNELS.event, onEvent)
afterEach(() => {
  events.length = 0
})
// Channels are the worker process's, not the test file's: left subscribed, the next file in this worker found
// CHANNELS.event with a subscriber (otel's adversarial-instrument.test.ts expects none after a failed instrumentation).
afterAll(() => {
  diagnostics.unsubscribe(CHANNELS.event, onEvent)
})

describe('memory storage and the circuit breaker', () => {
  it('a failing sizeCalculation never reports an open breaker, and the storage stays in use', () => {
    const storage = memoryStorage({
      maxSize: 1_000,
      sizeCalculation: (value) => ((value as { bad?: true }).bad ? 0 : 1),
    })
    const reports: ErrorReport[] = []
    let runs = 0
    const load = cacheValue(
      (id: string) => {
        runs++
        return id.startsWith('bad') ? { bad: true as const } : { id }
      },
      { storage, name: 'reviewSized', onError: (report) => reports.push(report) },
    )
    for (let i = 0; i < 8; i++) load(`bad${i}`)
    // Each bad write was reported as a failed set.
    expect(reports.filter((r) => r.error.message.includes('set failed'))).toHaveLength(8)

    // The storage is still used: a good result is stored and then hit.
    load('good')
    load('good')
    expect(runs).toBe(9)

    // So no report may say the storage is being skipped, and no breaker-open event may be published.
    expect(reports.filter((r) => r.error.message.includes('circuitBreaker')).map((r) => r.error.message)).toEqual([])
    expect(events.filter((e) => e.type === 'breaker-open')).toEqual([])
  })
})

describe('memory storage and circuitBreaker options', () => {
  it('still checks the option: a bad circuitBreaker is a ConfigError before any call', () => {
    expect(() =>
      cacheValue((id: string) => id, { storage: memoryStorage(), name: 'badBreaker', circuitBreaker: { failures: 0 } }),
    ).toThrow(/circuitBreaker\.failures must be a positive integer/)
  })
})
