// tieredStorage's options: every mistake is a ConfigError naming the option, thrown before anything is subscribed.
import { describe, expect, it } from '@jest/globals'
import { ConfigError, memoryBus, memoryStorage, type TieredStorageOptions, tieredStorage } from '@memokit/core'
import { testL2 } from './tiered-helpers'

const make = (options: Partial<TieredStorageOptions> & Record<string, unknown>) =>
  tieredStorage({ l1: memoryStorage(), l2: testL2().storage, ...options } as TieredStorageOptions)

const rejects = (option: string, message: RegExp, options: Record<string, unknown>) => {
  let thrown: unknown
  try {
    make(options)
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(ConfigError)
  expect((thrown as ConfigError).option).toBe(option)
  expect((thrown as ConfigError).code).toBe('E_CONFIG')
  expect((thrown as Error).message).toMatch(message)
}

describe('tieredStorage options', () => {
  it('names the option and the fix for each mistake', () => {
    rejects('l1', /l1 must be a memoryStorage/, { l1: testL2().storage })
    rejects('l2', /l2 must be a memokit storage/, { l2: { get() {} } })
    rejects('bus', /bus must be a Bus/, { bus: { publish() {} } })
    rejects('maxL1Age', /maxL1Age/, { maxL1Age: 0 })
    rejects('maxL1Age', /maxL1Age/, { maxL1Age: '5 minutes' })
    rejects('heartbeat', /pass a bus too/, { heartbeat: '1s' })
    rejects('channel', /pass a bus too/, { channel: 'c' })
    rejects('channel', /has no scope/, { bus: memoryBus() })
    rejects('channel', /non-empty string/, { bus: memoryBus(), channel: '' })
    rejects('heartbeatTimeout', /longer than heartbeat/, {
      bus: memoryBus(),
      channel: 'c',
      heartbeat: 1000,
      heartbeatTimeout: 500,
    })
    rejects('onEvent', /must be a function/, { onEvent: 'log' })
    rejects('maxL1age', /did you mean 'maxL1Age'/, { maxL1age: '1s' })
  })

  it('refuses an l1 that already serves another tier, and an l2 that is the l1', () => {
    const l1 = memoryStorage()
    tieredStorage({ l1, l2: testL2().storage })
    rejects('l1', /already serves another tieredStorage/, { l1 })
    const other = memoryStorage()
    rejects('l2', /other than l1/, { l1: other, l2: other })
  })

  it('subscribes nothing when an option is wrong', () => {
    const bus = memoryBus()
    expect(() => make({ bus, channel: 'c', heartbeat: -1 })).toThrow(ConfigError)
    expect(bus.subscribers).toBe(0)
  })

  it('takes its channel from the L2 scope, and a sync L2 through promises', async () => {
    const bus = memoryBus()
    const l2 = memoryStorage()
    const tier = tieredStorage({ l1: memoryStorage(), l2: { ...l2, scope: 'here' }, bus })
    await tier.ready
    expect(tier.async).toBe(true)
    expect(tier.scope).toBe('here')
    expect(tier.name).toBe('tiered(memory)')
    await tier.set('ns', 'k', 1)
    expect(l2.get('ns', 'k')?.value).toBe(1)
    expect(await tier.add?.('ns', 'k', 2)).toBe(false)
    await tier.close()
  })
})
