/**
 * Untyped calls of the lease members (see `acquireLease` in `@memokit/core`'s storage contract), for the lease
 * groups. Each asserts the member exists, so a storage that claims leases but lacks one fails with a clear message.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { AnyStorage, SetOptions } from '@memokit/core'

/** The lease members, all four or none. */
export const LEASE_MEMBER_NAMES = ['acquireLease', 'releaseLease', 'extendLease', 'setIfLeased'] as const

type Member = (...args: unknown[]) => unknown

const member = (s: AnyStorage, name: (typeof LEASE_MEMBER_NAMES)[number]): Member => {
  const fn = (s as unknown as Record<string, unknown>)[name]
  assert.equal(typeof fn, 'function', `the storage has no ${name}()`)
  return (fn as Member).bind(s)
}

/** The ttl of leases that must not lapse during a test, in ms: long enough for any loaded machine. */
export const HOLD = 60_000

/** A random token like core's (128 bits, 32 hex characters); `length` picks another length (16–64). */
export const token = (length = 32): string =>
  randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length)

/** `acquireLease(ns, key, token, ttl ms)`. */
export const acquire = async (s: AnyStorage, ns: string, key: string, tok: string, ttl: number): Promise<boolean> =>
  (await member(s, 'acquireLease')(ns, key, tok, ttl)) as boolean

/** `releaseLease(ns, key, token)`. */
export const release = async (s: AnyStorage, ns: string, key: string, tok: string): Promise<boolean> =>
  (await member(s, 'releaseLease')(ns, key, tok)) as boolean

/** `extendLease(ns, key, token, ttl ms)`. */
export const extend = async (s: AnyStorage, ns: string, key: string, tok: string, ttl: number): Promise<boolean> =>
  (await member(s, 'extendLease')(ns, key, tok, ttl)) as boolean

/** `setIfLeased(ns, key, value, token, options)`. */
export const setIfLeased = async (
  s: AnyStorage,
  ns: string,
  key: string,
  value: unknown,
  tok: string,
  options?: SetOptions,
): Promise<boolean> => (await member(s, 'setIfLeased')(ns, key, value, tok, options)) as boolean

/** Whether `s` has every lease member; `undefined` when it has some but not all (a contract breach). */
export const hasLeases = (s: AnyStorage): boolean | undefined => {
  const present = LEASE_MEMBER_NAMES.filter((n) => typeof (s as unknown as Record<string, unknown>)[n] === 'function')
  if (present.length === 0) return false
  return present.length === LEASE_MEMBER_NAMES.length ? true : undefined
}
