/**
 * The storage as the call path sees it: reads that never throw when failing open, writes that report instead of
 * failing the call, one breaker per storage (breaker.ts), and reads in one form for every storage: what a memory
 * slot holds (the value, or a WithMeta around it) or MISS.
 */
import { CodecError, StorageError, type StorageOp } from './errors'
import type { Flight } from './flight'
import { leaseEvent } from './lease-options'
import { MISS, WithMeta } from './memory'
import { observedKey, publishEvent, type StorageMessage, storageChannel, trace } from './observe'
import { isPromiseLike } from './options'
import type { Plan } from './plan'
import { toStorageError } from './report'
import type { AsyncStorage, Entry, SetOptions, Storage } from './storage'
import { trackWrite } from './writes'

export { GET_THEN, type GetThen } from './get-then'

/** A read that was skipped (breaker open) or failed while failing open: a miss, and no write either. */
export const SKIPPED: unique symbol = Symbol('memokit.skipped')

const held = (entry: Entry | undefined): unknown => {
  if (entry === undefined) return MISS
  return entry.meta === undefined ? entry.value : new WithMeta(entry.value, entry.meta, entry.createdAt)
}

/** A read of a storage that is not a memory storage (a memory storage never fails and is read in place). */
export function readSync(plan: Plan, key: string): unknown {
  if (!plan.breaker.allow()) return SKIPPED
  try {
    const storage = plan.storage as Storage
    // No closure unless someone traces: this runs on every read.
    const found = held(
      (storageChannel.hasSubscribers
        ? traced(plan, 'get', key, () => storage.get(plan.namespace, key))
        : storage.get(plan.namespace, key)) as Entry | undefined,
    )
    succeeded(plan)
    return found
  } catch (error) {
    return readFailed(plan, error, key)
  }
}

export async function readAsync(plan: Plan, key: string): Promise<unknown> {
  if (!plan.breaker.allow()) return SKIPPED
  try {
    const storage = plan.storage as AsyncStorage
    const found = (await (storageChannel.hasSubscribers
      ? traced(plan, 'get', key, () => storage.get(plan.namespace, key))
      : storage.get(plan.namespace, key))) as Entry | undefined
    return readDone(plan, found)
  } catch (error) {
    return readFailed(plan, error, key)
  }
}

/** What a read that succeeded found, as the call path sees it (readAsync; flow.ts readAndServe). */
export function readDone(plan: Plan, entry: Entry | undefined): unknown {
  const found = held(entry)
  succeeded(plan)
  return found
}

/** Runs a storage operation as a `memokit:storage` trace (only called when someone listens). */
export function traced(plan: Plan, op: StorageOp, key: string | undefined, run: () => unknown): unknown {
  const message: StorageMessage = {
    storage: plan.storage.name,
    op,
    namespace: plan.namespace,
    key: key === undefined ? undefined : observedKey(plan.observeKeys, key),
    status: undefined,
  }
  return trace(storageChannel, message, () => {
    const settle = (value: unknown): unknown => {
      message.status = op === 'get' ? (value === undefined ? 'miss' : 'hit') : 'ok'
      return value
    }
    const fail = (error: unknown): never => {
      message.status = 'error'
      throw error
    }
    let result: unknown
    try {
      result = run()
    } catch (error) {
      return fail(error)
    }
    return isPromiseLike(result) ? Promise.resolve(result).then(settle, fail) : settle(result)
  })
}

/** Counts a storage operation that succeeded (the breaker may close). */
export function succeeded(plan: Plan): void {
  if (plan.breaker.success()) publishEvent(plan.event('breaker-close', ''))
}

/** Writes; a failure is reported (thrown only in strict mode). Settles when the write did, over an async storage. */
export function write(plan: Plan, key: string, value: unknown, options: SetOptions | undefined): void | Promise<void> {
  const { storage, namespace } = plan
  try {
    if (!storage.async) {
      const set = () => storage.set(namespace, key, value, options)
      // A memory storage can't fail and isn't read through here either: only remote operations are traced.
      if (storageChannel.hasSubscribers && plan.tier === 'remote') traced(plan, 'set', key, set)
      else set()
      succeeded(plan)
      return
    }
    const set = () => storage.set(namespace, key, value, options)
    const issued = (storageChannel.hasSubscribers ? traced(plan, 'set', key, set) : set()) as Promise<void>
    return trackWrite(storage, namespace, key, issued).then(
      () => succeeded(plan),
      (error: unknown) => writeFailed(plan, error, key),
    )
  } catch (error) {
    writeFailed(plan, error, key)
  }
}

/**
 * The fenced write of a flight that took the key's lease: stored and the lease released in one step, or nothing
 * stored when the lease was lost (reported). On a failure the flight keeps its token, so the lease is released.
 */
export function writeLeased(
  plan: Plan,
  flight: Flight,
  value: unknown,
  options: SetOptions | undefined,
): Promise<void> | undefined {
  const { storage, namespace } = plan
  const { key } = flight
  const token = flight.lease
  // Lost while fn ran (hold, lease.ts), which reported it: one lease-lost per computation.
  if (token === undefined) return undefined
  const set = () => (storage as Required<AsyncStorage>).setIfLeased(namespace, key, value, token, options)
  let issued: Promise<boolean>
  try {
    issued = (storageChannel.hasSubscribers ? traced(plan, 'setIfLeased', key, set) : set()) as Promise<boolean>
  } catch (error) {
    issued = Promise.reject(error)
  }
  const landed = issued.then((stored) => {
    if (flight.lease === token) flight.lease = undefined
    if (!stored) leaseEvent(plan, 'lease-lost', key)
  })
  return trackWrite(storage, namespace, key, landed).then(
    () => succeeded(plan),
    (error: unknown) => writeFailed(plan, error, key, 'setIfLeased'),
  )
}

/** `readFailed` as readAsync returns it for a storage that threw synchronously: a settled promise. */
export function readFailedNow(plan: Plan, error: unknown, key: string): Promise<unknown> {
  try {
    return Promise.resolve(readFailed(plan, error, key))
  } catch (failure) {
    return Promise.reject(failure)
  }
}

/**
 * What a failed read means for the call: a corrupt payload is a miss, to be overwritten; any other failure is
 * SKIPPED (no write either), or thrown in strict mode.
 */
export function readFailed(plan: Plan, error: unknown, key: string): unknown {
  const failure = toStorageError(plan.storage, 'get', error)
  if (failure instanceof CodecError) {
    plan.report('get', plan.namespace, key, failure)
    return MISS
  }
  storageFailed(plan, failure, key)
  return SKIPPED
}

function writeFailed(plan: Plan, error: unknown, key: string, op: StorageOp = 'set'): void {
  const failure = toStorageError(plan.storage, op, error)
  if (failure instanceof CodecError) {
    plan.report('set', plan.namespace, key, failure)
    publishEvent(plan.event('not-cached', key, failure))
  } else storageFailed(plan, failure, key)
}

// In strict mode the caller gets the error, so it is not reported too; the breaker counts it either way.
function storageFailed(plan: Plan, failure: StorageError, key: string): void {
  const { storage, namespace, report } = plan
  const opened = plan.breaker.failure()
  if (!plan.failOpen) throw failure
  report(failure.op, namespace, key, failure)
  if (opened !== undefined) {
    publishEvent(plan.event('breaker-open', key, failure))
    const op = failure.op
    report(op, namespace, key, new StorageError(`${storage.name} storage: ${opened}`, { storage: storage.name, op }))
  }
}
