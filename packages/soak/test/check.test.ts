// The checker's join rule on hand-made records: a call that joined what an earlier call of its own process was
// waiting for gets that call's answer, so it is judged by that call's start; nothing else is excused.
import { describe, expect, it } from '@jest/globals'
import { check } from '../src/check'
import type { Run } from '../src/functions'
import type { CallRecord, WorkerRecords, WriterRecords } from '../src/records'

// Version 1 of key 10 written at 100-110 and computed by worker-1 (200-250); version 2 written at 900, its
// invalidation completed at 1000.
const run: Run = { f: 'dist', k: 10, r: 'worker-1:1', v: 1, s: 200, t: 205, e: 250 }
const writer: WriterRecords = {
  updates: [
    { k: 10, v: 1, b: 100, a: 110, i: 120 },
    { k: 10, v: 2, b: 900, a: 910, i: 1000 },
  ],
  invalidations: [],
}
const call = (s: number, e: number, o: string): CallRecord => ({
  w: 'worker-3',
  f: 'dist',
  k: 10,
  s,
  e,
  v: 1,
  r: run.r,
  vk: 10,
  o,
})
const verdict = (calls: CallRecord[], lost?: number, bestEffortFence = false) => {
  const worker1: WorkerRecords = {
    calls: [],
    runs: [{ ...run, ...(lost === undefined ? {} : { l: lost }) }],
    reports: 0,
    events: {},
  }
  const worker3: WorkerRecords = { calls, runs: [], reports: 0, events: {} }
  return check([worker1, worker3], writer, [], 0, 0, bestEffortFence)
}

describe('soak check: joins', () => {
  it('excuses a call that joined an earlier call still waiting on a reply from before the invalidation', () => {
    // The first call's read left at 990, before the invalidation; the second arrived at 1011 and shared its reply.
    const result = verdict([call(990, 1012, 'hit'), call(1011, 1012, 'joined')])
    expect({ wrong: result.wrong, lateJoins: result.lateJoins }).toEqual({ wrong: 0, lateJoins: 1 })
  })

  it('does not excuse a join when the call it shared with started after the invalidation', () => {
    const result = verdict([call(1005, 1012, 'hit'), call(1011, 1012, 'joined')])
    expect(result.wrong).toBe(2)
  })

  it('does not excuse a join of a call that had already been answered', () => {
    const result = verdict([call(990, 995, 'hit'), call(1011, 1012, 'joined')])
    expect({ wrong: result.wrong, lateJoins: result.lateJoins }).toEqual({ wrong: 1, lateJoins: 0 })
  })

  it('does not excuse a call that did not join, whatever ran beside it', () => {
    const result = verdict([call(990, 1012, 'hit'), call(1011, 1012, 'hit')])
    expect({ wrong: result.wrong, lateJoins: result.lateJoins }).toEqual({ wrong: 1, lateJoins: 0 })
  })
})

describe('soak check: a best-effort fence (memcached)', () => {
  // Worker-1's write of version 1 was refused by the fence; it heard so (lease-lost) at 1040.
  it('excuses a call answered from the refused write before its writer heard of the refusal', () => {
    const result = verdict([call(1030, 1031, 'hit')], 1040, true)
    expect({ wrong: result.wrong, fenceWindow: result.fenceWindow }).toEqual({ wrong: 0, fenceWindow: 1 })
  })

  it('does not excuse it after the refusal, nor over a fence that is atomic, nor without a refusal', () => {
    expect(verdict([call(1041, 1042, 'hit')], 1040, true).wrong).toBe(1)
    expect(verdict([call(1030, 1031, 'hit')], 1040, false).wrong).toBe(1)
    expect(verdict([call(1030, 1031, 'hit')], undefined, true).wrong).toBe(1)
  })
})
