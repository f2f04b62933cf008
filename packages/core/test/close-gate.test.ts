// The close gate the network backends share (redis, memcached, keyv): operations issued before close() finish first,
// later ones are refused at once, close() resolves after the drain, and the busy/idle hooks mark 0 <-> 1 in flight.
import { describe, expect, it } from '@jest/globals'
import { createCloseGate } from '../src/backend'
import { StorageError } from '../src/errors'

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('createCloseGate', () => {
  it('refuses after close() with the storage and operation named', async () => {
    const gate = createCloseGate('redis')
    expect(gate.isClosed()).toBe(false)
    await gate.close()
    expect(gate.isClosed()).toBe(true)
    const refused = gate.refuse('get')
    await expect(refused).rejects.toThrow(new Error('redis get after close(): this storage is closed'))
    const error = await refused.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ storage: 'redis', op: 'get' })
    expect(gate.inflight()).toBe(0)
  })

  it('close() resolves at once when nothing is in flight', async () => {
    const gate = createCloseGate('keyv')
    let done = false
    void gate.close().then(() => {
      done = true
    })
    await Promise.resolve()
    expect(done).toBe(true)
  })

  it('close() waits until every operation in flight has left', async () => {
    const gate = createCloseGate('memcached')
    gate.enter()
    gate.enter()
    expect(gate.inflight()).toBe(2)
    let done = false
    void gate.close().then(() => {
      done = true
    })
    gate.leave()
    await turn()
    expect(done).toBe(false)
    gate.leave()
    await turn()
    expect(done).toBe(true)
    expect(gate.inflight()).toBe(0)
  })

  it('close() twice: the same promise, resolved once after the drain', async () => {
    const gate = createCloseGate('redis')
    gate.enter()
    const first = gate.close()
    const second = gate.close()
    expect(second).toBe(first)
    let resolved = 0
    void first.then(() => resolved++)
    void second.then(() => resolved++)
    await turn()
    expect(resolved).toBe(0)
    gate.leave()
    await turn()
    expect(resolved).toBe(2)
    await expect(gate.close()).resolves.toBeUndefined()
  })

  it('runs busy on 0 -> 1 and idle on 1 -> 0 only, idle before close() resolves', async () => {
    const events: string[] = []
    const gate = createCloseGate('redis', {
      busy: () => events.push('busy'),
      idle: () => events.push('idle'),
    })
    gate.enter()
    gate.enter()
    gate.leave()
    expect(events).toEqual(['busy'])
    gate.leave()
    expect(events).toEqual(['busy', 'idle'])
    gate.enter()
    expect(events).toEqual(['busy', 'idle', 'busy'])
    const closed = gate.close().then(() => events.push('closed'))
    expect(events).toEqual(['busy', 'idle', 'busy'])
    gate.leave()
    await closed
    expect(events).toEqual(['busy', 'idle', 'busy', 'idle', 'closed'])
  })

  it('close() on an idle gate runs no hook', async () => {
    const events: string[] = []
    const gate = createCloseGate('keyv', { busy: () => events.push('busy'), idle: () => events.push('idle') })
    await gate.close()
    expect(events).toEqual([])
  })

  it('leave works as a detached then-handler', async () => {
    const gate = createCloseGate('keyv')
    gate.enter()
    gate.enter()
    const { leave } = gate
    await Promise.resolve('value').then(leave, leave)
    await Promise.reject(new Error('x')).then(leave, leave)
    expect(gate.inflight()).toBe(0)
  })
})
