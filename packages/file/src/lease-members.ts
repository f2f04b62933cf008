/**
 * The lease members of both file storages: argument checks and the task of each call, which index.ts runs with
 * sync or async I/O like every other member.
 */
import type { SetOptions } from '@memokit/core'
import { checkLeaseArgs } from '@memokit/core/backend'
import type { Ctx } from './engine'
import type { Task } from './io'
import { entryPaths } from './layout'
import { acquireLeaseTask, extendLeaseTask, releaseLeaseTask, setIfLeasedTask } from './lease-engine'

/** The lease members, present on both file storages (their contract is in `@memokit/core`'s storage.ts). */
export type LeaseMember = 'acquireLease' | 'releaseLease' | 'extendLease' | 'setIfLeased'

const NAME = 'file'

const checkLease = (token: unknown, ttl?: unknown): void => checkLeaseArgs(NAME, token, ttl)

/** A lease call ready to run: where it acts (for error messages) and its task. */
export type LeaseCall = readonly [where: string, task: Task<boolean>]

/** Checks each lease call's arguments (throws a ConfigError) and builds its task. */
export function leaseCalls(prefixDir: string, ctx: Ctx) {
  return {
    acquire(ns: string, key: string, token: string, ttl: number): LeaseCall {
      checkLease(token, ttl)
      const p = entryPaths(prefixDir, ns, key)
      return [p.nsDir, acquireLeaseTask(p, ctx, ns, key, token, ttl)]
    },
    release(ns: string, key: string, token: string): LeaseCall {
      checkLease(token)
      const p = entryPaths(prefixDir, ns, key)
      return [p.nsDir, releaseLeaseTask(p, ctx, ns, key, token)]
    },
    extend(ns: string, key: string, token: string, ttl: number): LeaseCall {
      checkLease(token, ttl)
      const p = entryPaths(prefixDir, ns, key)
      return [p.nsDir, extendLeaseTask(p, ctx, ns, key, token, ttl)]
    },
    setIfLeased(ns: string, key: string, value: unknown, token: string, options?: SetOptions): LeaseCall {
      checkLease(token, options?.ttl)
      const p = entryPaths(prefixDir, ns, key)
      return [p.nsDir, setIfLeasedTask(p, ctx, ns, key, value, token, options)]
    },
  }
}
