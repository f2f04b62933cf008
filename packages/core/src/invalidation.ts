/**
 * `.delete(...args)` and `.clear()` of a cached function: its own flights are invalidated first, then writes it
 * already issued land, then the storage removes the entries (and, over a storage with leases, their leases, so a
 * computation still running on another replica can't store its result afterwards).
 */
import { invalidateIdentity } from './identity'
import type { Plan } from './plan'
import { toStorageError } from './report'
import type { AsyncStorage, MaybePromise, Storage } from './storage'
import { issuedWrites } from './writes'

export interface Invalidation {
  remove(key: string): MaybePromise<boolean, boolean>
  clear(): MaybePromise<void, boolean>
}

export function syncInvalidation(plan: Plan): Invalidation {
  const storage = plan.storage as Storage
  const { namespace, keyPrefix, identity } = plan
  return {
    remove(key) {
      invalidateIdentity(identity, [key])
      try {
        return storage.delete(namespace, key)
      } catch (error) {
        throw toStorageError(storage, 'delete', error)
      }
    },
    clear() {
      invalidateIdentity(identity)
      try {
        storage.clear(namespace, keyPrefix)
      } catch (error) {
        throw toStorageError(storage, 'clear', error)
      }
    },
  }
}

export function asyncInvalidation(plan: Plan): Invalidation {
  const storage = plan.storage as AsyncStorage
  const { namespace, keyPrefix, identity } = plan
  return {
    async remove(key) {
      invalidateIdentity(identity, [key])
      // A write issued before this delete must land before it, or it would bring back what the delete removes.
      await issuedWrites(storage, namespace, { key })
      try {
        return await storage.delete(namespace, key)
      } catch (error) {
        throw toStorageError(storage, 'delete', error)
      }
    },
    async clear() {
      invalidateIdentity(identity)
      await issuedWrites(storage, namespace, { keyPrefix })
      try {
        await storage.clear(namespace, keyPrefix)
      } catch (error) {
        throw toStorageError(storage, 'clear', error)
      }
    },
  }
}
