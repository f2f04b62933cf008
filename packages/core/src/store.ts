/**
 * The storage as the call path sees it: reads that never throw when failing open, writes that report instead of
 * failing the call, one breaker per storage (breaker.ts), and reads in one form for every storage: what a memory
 * slot holds (the value, or a WithMeta around it) or MISS.
 */
import { CodecError, StorageError } from './errors'
import { MISS, WithMeta } from './memory'
import type { Plan } from './plan'
import { toStorageError } from './report'
import type { AsyncStorage, Entry, SetOptions, Storage } from './storage'
import { trackWrite } from './writes'

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
    const found = held((plan.storage as Storage).get(plan.namespace, key))
    plan.breaker.success()
    return found
  } catch (error) {
    return readFailed(plan, error, key)
  }
}

export async function readAsync(plan: Plan, key: string): Promise<unknown> {
  if (!plan.breaker.allow()) return SKIPPED
  try {
    const found = held(await (plan.storage as AsyncStorage).get(plan.namespace, key))
    plan.breaker.success()
    return found
  } catch (error) {
    return readFailed(plan, error, key)
  }
}

/** Writes; a failure is reported (thrown only in strict mode). Settles when the write did, over an async storage. */
export function write(plan: Plan, key: string, value: unknown, options: SetOptions | undefined): void | Promise<void> {
  const { storage, namespace } = plan
  try {
    if (!storage.async) {
      storage.set(namespace, key, value, options)
      plan.breaker.success()
      return
    }
    return trackWrite(storage, namespace, key, storage.set(namespace, key, value, options)).then(
      () => plan.breaker.success(),
      (error: unknown) => writeFailed(plan, error, key),
    )
  } catch (error) {
    writeFailed(plan, error, key)
  }
}

// A corrupt payload is a miss, to be overwritten; any other failure skips the write too.
function readFailed(plan: Plan, error: unknown, key: string): unknown {
  const failure = toStorageError(plan.storage, 'get', error)
  if (failure instanceof CodecError) {
    plan.report('get', plan.namespace, key, failure)
    return MISS
  }
  storageFailed(plan, failure, key)
  return SKIPPED
}

function writeFailed(plan: Plan, error: unknown, key: string): void {
  const failure = toStorageError(plan.storage, 'set', error)
  if (failure instanceof CodecError) plan.report('set', plan.namespace, key, failure)
  else storageFailed(plan, failure, key)
}

// In strict mode the caller gets the error, so it is not reported too; the breaker counts it either way.
function storageFailed(plan: Plan, failure: StorageError, key: string): void {
  const { storage, namespace, report } = plan
  const opened = plan.breaker.failure()
  if (!plan.failOpen) throw failure
  report(failure.op, namespace, key, failure)
  if (opened !== undefined) {
    const op = failure.op
    report(op, namespace, key, new StorageError(`${storage.name} storage: ${opened}`, { storage: storage.name, op }))
  }
}
