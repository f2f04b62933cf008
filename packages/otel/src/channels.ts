/**
 * The part of `node:diagnostics_channel` this package uses, typed here (@types/node 20.9 lacks TracingChannel), and
 * the AsyncLocalStorage behind OpenTelemetry's active context.
 */
import type { AsyncLocalStorage } from 'node:async_hooks'
import diagnostics from 'node:diagnostics_channel'
import { type Context, context as contextApi } from '@opentelemetry/api'

/** Handlers for the events of one TracingChannel; each receives the trace's context object. */
export type TraceHandlers<M> = Partial<Record<'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error', (m: M) => void>>

interface StartChannel {
  bindStore(store: AsyncLocalStorage<Context>, transform: (message: unknown) => Context): void
  unbindStore(store: AsyncLocalStorage<Context>): boolean
}

interface TracingChannel {
  readonly start: StartChannel
  subscribe(handlers: TraceHandlers<unknown>): void
  unsubscribe(handlers: TraceHandlers<unknown>): boolean
}

const tracingChannel = (name: string): TracingChannel =>
  (diagnostics as unknown as { tracingChannel(name: string): TracingChannel }).tracingChannel(name)

/** Subscribes `handlers` to the TracingChannel `name`; returns the unsubscribe. */
export function subscribeTrace<M>(name: string, handlers: TraceHandlers<M>): () => void {
  const channel = tracingChannel(name)
  channel.subscribe(handlers as TraceHandlers<unknown>)
  return () => {
    channel.unsubscribe(handlers as TraceHandlers<unknown>)
  }
}

/** Subscribes `handler` to the plain channel `name`; returns the unsubscribe. */
export function subscribeChannel<M>(name: string, handler: (m: M) => void): () => void {
  const listener = (message: unknown) => handler(message as M)
  diagnostics.subscribe(name, listener)
  return () => {
    diagnostics.unsubscribe(name, listener)
  }
}

/**
 * Binds `store` to the `start` event of the TracingChannel `name`: memokit runs each traced operation inside
 * `start.runStores`, so the context `transform` returns is the active one for the whole operation (and what it
 * awaits). Returns the unbind.
 */
export function bindStart<M>(
  name: string,
  store: AsyncLocalStorage<Context>,
  transform: (m: M) => Context,
): () => void {
  const { start } = tracingChannel(name)
  start.bindStore(store, transform as (message: unknown) => Context)
  return () => {
    start.unbindStore(store)
  }
}

/** An AsyncLocalStorage, told apart from other objects by what bindStore needs of it. */
const isAsyncLocalStorage = (value: unknown): value is AsyncLocalStorage<Context> =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { run?: unknown }).run === 'function' &&
  typeof (value as { getStore?: unknown }).getStore === 'function'

/**
 * The AsyncLocalStorage of the registered global context manager (`AsyncLocalStorageContextManager`, which NodeSDK
 * and NodeTracerProvider register), or undefined for another or no context manager. OpenTelemetry has no public
 * accessor yet (opentelemetry-js#6088): this reads the same private field other tracing-channel integrations read.
 */
export function globalContextStorage(): AsyncLocalStorage<Context> | undefined {
  try {
    const manager = (contextApi as unknown as { _getContextManager?(): unknown })._getContextManager?.()
    const storage = (manager as { _asyncLocalStorage?: unknown } | undefined)?._asyncLocalStorage
    return isAsyncLocalStorage(storage) ? storage : undefined
  } catch {
    return undefined
  }
}
