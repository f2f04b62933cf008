/**
 * The lease members of both file storages: argument checks and the task of each call, which index.ts runs with
 * sync or async I/O like every other member.
 */
import { ConfigError, type SetOptions } from '@memokit/core'
import { describeValue } from '@memokit/core/backend'
import type { Ctx } from './engine'
import type { Task } from './io'
import { entryPaths } from './layout'
import { acquireLeaseTask, extendLeaseTask, releaseLeaseTask, setIfLeasedTask } from './lease-engine'

/** The lease members, present on both file storages (their contract is in `@memokit/core`'s storage.ts). */
export type LeaseMember = 'acquireLease' | 'releaseLease' | 'extendLease' | 'setIfLeased'

const NAME = 'file'

// The same rule as the memory storage's: a token of 16 to 64 characters, a positive finite ttl in ms.
function checkLease(token: unknown, ttl?: unknown): void {
  if (typeof token !== 'string' || token.length < 16 || token.length > 64) {
    throw new ConfigError(
      'token',
      `${NAME} storage: a lease token must be a string of 16 to 64 characters, got ${describeValue(token)}`,
    )
  }
  if (ttl !== undefined && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
    throw new ConfigError(
      'ttl',
      `${NAME} storage: a lease ttl must be a positive, finite number of milliseconds, got ${describeValue(ttl)}`,
    )
  }
}

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
