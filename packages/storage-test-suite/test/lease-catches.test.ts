// The lease checks must fail on storages that break the lease contract, one rule each, while memoryStorage passes.
import { describe, expect, it } from '@jest/globals'
import { type AsyncStorage, memoryStorage, type Storage } from '@memokit/core'
import type { StorageContractOptions } from '@memokit/storage-test-suite'
import { asyncOver, collect, outcome } from './recording'

type Mem = Storage & Required<Pick<Storage, 'acquireLease' | 'releaseLease' | 'extendLease' | 'setIfLeased'>>
const mem = (): Mem => memoryStorage() as Mem

/** An async storage with the memory storage's entries and leases, with some members replaced. */
const leasing = (name: string, patch: (m: Mem) => Partial<AsyncStorage>): StorageContractOptions => ({
  name,
  leases: true,
  create: () => {
    const m = mem()
    return asyncOver(m, {
      acquireLease: async (ns, key, token, ttl) => m.acquireLease(ns, key, token, ttl),
      releaseLease: async (ns, key, token) => m.releaseLease(ns, key, token),
      extendLease: async (ns, key, token, ttl) => m.extendLease(ns, key, token, ttl),
      setIfLeased: async (ns, key, value, token, o) => m.setIfLeased(ns, key, value, token, o),
      ...patch(m),
    })
  },
})

const healthy = leasing('memory', () => ({}))
/** Runs `write` when `ok`; answers `ok` (a fenced write as a one-liner). */
const when = (ok: boolean, write: () => void): boolean => {
  if (ok) write()
  return ok
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const T = {
  shape: 'leases › has all four lease members, answering plainly when sync and with promises when async',
  none: 'leases (not claimed) › has all four lease members or none',
  hold: 'leases › acquire wins on a free key; while held, no token acquires (not even the holder)',
  race: 'leases › exactly one of 20 concurrent acquires wins; of two concurrent releases, exactly one',
  foreign: 'leases › setIfLeased with a foreign token or without a lease writes nothing',
  delete: 'leases › delete removes the lease: the holder can no longer write, another token acquires',
  clear: 'leases › clear(ns) and clear(ns, prefix of the key) remove leases; other prefixes and namespaces keep them',
  lookalike: 'leases › keys that look like lease keys never collide with leases (:lease, NUL, {x} …)',
  lapse: 'leases › a lease lapses after its ttl (300 ms): the old holder can no longer extend, release or write',
}

describe('the lease checks fail a storage that', () => {
  it('claims leases but lacks a member, or has some members without claiming', async () => {
    const lacking = leasing('no extendLease', () => ({ extendLease: undefined }))
    expect(await outcome(healthy, T.shape)).toBe('passes')
    expect(await outcome(lacking, T.shape)).toMatch(/no extendLease/)
    expect(await outcome({ ...lacking, leases: false }, T.none)).toMatch(/or none/)
    expect(await outcome({ ...healthy, leases: false }, T.none)).toBe('passes')
    expect(await outcome({ name: 'plain', create: () => asyncOver() }, T.none)).toBe('passes')
  })

  it('lets the holder acquire again, or checks and takes a lease in two steps', async () => {
    const reentrant = leasing('reentrant', (m) => ({
      acquireLease: async (ns, key, token, ttl) =>
        m.acquireLease(ns, key, token, ttl) || m.extendLease(ns, key, token, ttl),
    }))
    const leases = new Map<string, string>()
    const twoSteps = leasing('check then take', () => ({
      acquireLease: async (ns, key, token) => {
        const free = !leases.has(`${ns}/${key}`)
        await sleep(1)
        if (free) leases.set(`${ns}/${key}`, token)
        return free
      },
    }))
    expect(await outcome(healthy, T.hold)).toBe('passes')
    expect(await outcome(reentrant, T.hold)).toMatch(/the holder acquired its own lease again/)
    expect(await outcome(healthy, T.race)).toBe('passes')
    expect(await outcome(twoSteps, T.race)).toMatch(/of 20 concurrent acquires won/)
  })

  it('writes for a foreign token, or keeps leases through delete and clear', async () => {
    const writesFirst = leasing('writes first', (m) => ({
      setIfLeased: async (ns, key, value, token, o) => {
        const held = m.releaseLease(ns, key, token)
        m.set(ns, key, value, o)
        return held
      },
    }))
    // Leases in a second memory storage that delete and clear never reach.
    const apart = leasing('leases apart', (m) => {
      const l = mem()
      return {
        acquireLease: async (ns, key, token, ttl) => l.acquireLease(ns, key, token, ttl),
        releaseLease: async (ns, key, token) => l.releaseLease(ns, key, token),
        extendLease: async (ns, key, token, ttl) => l.extendLease(ns, key, token, ttl),
        setIfLeased: async (ns, key, value, token, o) =>
          when(l.releaseLease(ns, key, token), () => m.set(ns, key, value, o)),
      }
    })
    expect(await outcome(healthy, T.foreign)).toBe('passes')
    expect(await outcome(writesFirst, T.foreign)).toMatch(/a refused setIfLeased (wrote|changed the entry)/)
    expect(await outcome(healthy, T.delete)).toBe('passes')
    expect(await outcome(apart, T.delete)).toMatch(/fenced by delete landed/)
    expect(await outcome(healthy, T.clear)).toBe('passes')
    expect(await outcome(apart, T.clear)).toMatch(/fenced-out write landed/)
  })

  it('keeps a lease as an entry under a derived key', async () => {
    const suffix = (key: string) => `${key}:lease`
    const derived = leasing('lease at key:lease', (m) => ({
      acquireLease: async (ns, key, token, ttl) => m.add?.(ns, suffix(key), token, { ttl }) as boolean,
      releaseLease: async (ns, key, token) => m.get(ns, suffix(key))?.value === token && m.delete(ns, suffix(key)),
      extendLease: async (ns, key, token, ttl) =>
        when(m.get(ns, suffix(key))?.value === token, () => m.set(ns, suffix(key), token, { ttl })),
      setIfLeased: async (ns, key, value, token, o) =>
        when(m.get(ns, suffix(key))?.value === token && m.delete(ns, suffix(key)), () => m.set(ns, key, value, o)),
      delete: async (ns, key) => {
        m.delete(ns, suffix(key))
        return m.delete(ns, key)
      },
    }))
    expect(await outcome(healthy, T.lookalike)).toBe('passes')
    expect(await outcome(derived, T.lookalike)).toMatch(/reads as entry/)
    expect(await outcome(derived, T.clear)).toMatch(/freed/)
  })

  it('never lets a lease lapse', async () => {
    const forever = leasing('no expiry', (m) => ({
      acquireLease: async (ns, key, token) => m.acquireLease(ns, key, token, 3_600_000),
    }))
    expect(await outcome(healthy, T.lapse)).toBe('passes')
    expect(await outcome(forever, T.lapse)).toMatch(/still held after/)
  }, 20_000)

  // A loaded runner can reach the check at half the ttl after the lease has already lapsed; its probe then takes
  // the lease, and the check that the lease lapses must not count the probe's own lease against the storage.
  it('passes a healthy storage when the runner comes too late to the check at half the ttl', async () => {
    const slowThird = leasing('memory, third acquire slow', (m) => {
      let calls = 0
      return {
        acquireLease: async (ns, key, token, ttl) => {
          if (++calls === 3) await sleep(400)
          return m.acquireLease(ns, key, token, ttl)
        },
      }
    })
    expect(await outcome(slowThird, T.lapse)).toBe('passes')
  }, 20_000)

  it('registers the lease tests only when leases: true, each once', () => {
    const names = [...collect(healthy).keys()]
    expect(new Set(names).size).toBe(names.length)
    expect(names.filter((n) => n.startsWith('leases › ')).length).toBeGreaterThanOrEqual(12)
    for (const name of Object.values(T)) if (name !== T.none) expect(names).toContain(name)
    expect([...collect({ ...healthy, leases: false }).keys()].filter((n) => n.startsWith('leases'))).toEqual([T.none])
  })
})
