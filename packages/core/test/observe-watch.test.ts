// The hit paths read `callObserved` instead of the start channel's `hasSubscribers` getter (observe.ts): every way
// of subscribing to memokit:call must switch a cached function to its observed path at once, and back.
import { AsyncLocalStorage } from 'node:async_hooks'
import diagnostics from 'node:diagnostics_channel'
import { describe, expect, it } from '@jest/globals'
import { cacheValue, memoryStorage } from '@memokit/core'

const START = 'tracing:memokit:call:start'
// @types/node 20.9 lacks TracingChannel and bindStore: the parts used here, typed.
interface Handlers {
  start(m: unknown): void
  end(): void
  asyncStart(): void
  asyncEnd(): void
  error(): void
}
const tracing = (
  diagnostics as unknown as {
    tracingChannel(name: string): { subscribe(h: Handlers): void; unsubscribe(h: Handlers): void }
  }
).tracingChannel
interface StoreChannel {
  bindStore(store: AsyncLocalStorage<unknown>, transform: (m: unknown) => unknown): void
  unbindStore(store: AsyncLocalStorage<unknown>): void
}

function observedCalls() {
  const double = cacheValue((n: number) => n * 2, { storage: memoryStorage(), name: 'double' })
  double(1)
  double(1)
  const seen: string[] = []
  return { double, seen, handler: (m: unknown) => seen.push(String((m as { functionName: string }).functionName)) }
}

describe('the hit paths follow subscriptions to memokit:call', () => {
  it('diagnostics_channel.subscribe on the start channel, and unsubscribe', () => {
    const { double, seen, handler } = observedCalls()
    diagnostics.subscribe(START, handler)
    double(1)
    diagnostics.unsubscribe(START, handler)
    double(1)
    expect(seen).toEqual(['double'])
  })

  it('tracingChannel.subscribe with the usual handlers, and unsubscribe', () => {
    const { double, seen, handler } = observedCalls()
    const channel = tracing('memokit:call')
    const handlers = { start: handler, end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
    channel.subscribe(handlers)
    double(1)
    double(2)
    channel.unsubscribe(handlers)
    double(1)
    expect(seen).toEqual(['double', 'double'])
  })

  it('a store bound to the start channel (as @memokit/otel binds its context), and unbound', () => {
    const { double, seen, handler } = observedCalls()
    const store = new AsyncLocalStorage<unknown>()
    const start = diagnostics.channel(START) as unknown as StoreChannel
    start.bindStore(store, (m) => {
      handler(m)
      return m
    })
    double(1)
    start.unbindStore(store)
    double(1)
    expect(seen).toEqual(['double'])
  })

  it('two subscribers: observed until the last one leaves', () => {
    const { double, seen, handler } = observedCalls()
    const other = () => {}
    diagnostics.subscribe(START, handler)
    diagnostics.subscribe(START, other)
    diagnostics.unsubscribe(START, other)
    double(1)
    diagnostics.unsubscribe(START, handler)
    diagnostics.subscribe(START, other)
    double(1)
    diagnostics.unsubscribe(START, other)
    expect(seen).toEqual(['double'])
  })
})
