// The deadline queue that bounds the operations of the network backends (one timer for all), against a model of
// what it must do: an operation expires exactly `timeout` after it started unless it settled before, in start order, once.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import fc from 'fast-check'
import { createDeadlineQueue, type Deadline } from '../src/deadlines'

const TIMEOUT = 1000

beforeEach(() => {
  jest.useFakeTimers()
})
afterEach(() => {
  jest.useRealTimers()
})

type Step = { kind: 'add' } | { kind: 'settle'; which: number } | { kind: 'advance'; ms: number }

const steps = fc.array(
  fc.oneof(
    fc.constant<Step>({ kind: 'add' }),
    fc.nat(40).map((which): Step => ({ kind: 'settle', which })),
    fc.integer({ min: 0, max: 700 }).map((ms): Step => ({ kind: 'advance', ms })),
  ),
  { maxLength: 80 },
)

describe('createDeadlineQueue', () => {
  it('expires exactly the operations that did not settle in time, each at its own deadline, once', () => {
    fc.assert(
      fc.property(steps, (script) => {
        jest.clearAllTimers()
        const queue = createDeadlineQueue(TIMEOUT)
        const started: { at: number; deadline: Deadline }[] = []
        const fired: { op: number; at: number }[] = []
        // The model: when each operation started, and when it settled (if it did).
        const settledAt = new Map<number, number>()
        for (const step of script) {
          if (step.kind === 'add') {
            const op = started.length
            const deadline = queue.add(() => fired.push({ op, at: performance.now() }))
            started.push({ at: performance.now(), deadline })
          } else if (step.kind === 'settle') {
            const op = step.which % Math.max(1, started.length)
            const entry = started[op]
            if (entry === undefined) continue
            const pending = !settledAt.has(op) && performance.now() < entry.at + TIMEOUT
            expect(queue.settle(entry.deadline)).toBe(pending)
            if (!settledAt.has(op)) settledAt.set(op, performance.now())
          } else jest.advanceTimersByTime(step.ms)
        }
        jest.advanceTimersByTime(TIMEOUT)
        const expected = started.flatMap(({ at }, op) => {
          const settled = settledAt.get(op)
          return settled !== undefined && settled < at + TIMEOUT ? [] : [{ op, at: at + TIMEOUT }]
        })
        expect(fired).toEqual(expected)
        // Nothing left: no timer keeps running once every operation is done.
        expect(jest.getTimerCount()).toBe(0)
      }),
      { numRuns: 200 },
    )
  })

  it('lets go of a settled operation at once: it is unlinked and its callback dropped', () => {
    const queue = createDeadlineQueue(TIMEOUT)
    const [a, b, c] = [queue.add(() => {}), queue.add(() => {}), queue.add(() => {})] as [Deadline, Deadline, Deadline]
    expect(queue.settle(b)).toBe(true)
    expect(b).toMatchObject({ prev: undefined, next: undefined, expire: undefined })
    expect(a.next).toBe(c)
    expect(c.prev).toBe(a)
    expect(queue.settle(b)).toBe(false)
  })

  it('keeps one timer however many operations are in flight', () => {
    const queue = createDeadlineQueue(TIMEOUT)
    for (let i = 0; i < 1000; i++) queue.add(() => {})
    expect(jest.getTimerCount()).toBe(1)
  })
})

describe('DeadlineQueue.bound', () => {
  const timedOut = () => new Error('timed out')
  const failed = (error: unknown) => new Error(`failed: ${(error as Error).message}`)

  it('answers with the work, or its failure mapped, and leaves the queue', async () => {
    const queue = createDeadlineQueue(TIMEOUT)
    await expect(queue.bound(() => Promise.resolve(7), timedOut, failed)).resolves.toBe(7)
    await expect(queue.bound(() => Promise.reject(new Error('boom')), timedOut, failed)).rejects.toThrow('failed: boom')
    await expect(queue.bound(() => 3, timedOut, failed)).resolves.toBe(3)
  })

  it('starts the work with its deadline, and maps a synchronous throw as a failure that leaves the queue', async () => {
    const queue = createDeadlineQueue(TIMEOUT)
    const before = performance.now()
    let seen: number | undefined
    await expect(
      queue.bound(
        (deadline) => {
          seen = deadline.at
          return 1
        },
        timedOut,
        failed,
      ),
    ).resolves.toBe(1)
    expect(seen).toBeGreaterThanOrEqual(before + TIMEOUT)
    expect(seen).toBeLessThanOrEqual(performance.now() + TIMEOUT)
    let thrown: Deadline | undefined
    const throwing = queue.bound(
      (deadline) => {
        thrown = deadline
        throw new Error('at once')
      },
      timedOut,
      failed,
    )
    await expect(throwing).rejects.toThrow('failed: at once')
    // Settled, not left to expire: a second settle finds nothing.
    expect(queue.settle(thrown as Deadline)).toBe(false)
  })

  it('rejects with timedOut() at the deadline, and a late failure of the work goes nowhere', async () => {
    const queue = createDeadlineQueue(TIMEOUT)
    let rejectWork!: (error: unknown) => void
    const work = new Promise<number>((_, reject) => {
      rejectWork = reject
    })
    const bounded = queue.bound(() => work, timedOut, failed)
    const outcome = bounded.then(
      () => 'resolved',
      (error: Error) => error.message,
    )
    jest.advanceTimersByTime(TIMEOUT - 1)
    await Promise.resolve()
    jest.advanceTimersByTime(1)
    expect(await outcome).toBe('timed out')
    rejectWork(new Error('late'))
    await Promise.resolve()
  })
})
