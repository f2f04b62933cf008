// Merged key messages (tiered-sequence.ts) against what each operation asked for: random bursts of set, delete,
// clear and get on two tiers over one memoryBus, each burst issued at once (its invalidations then share messages),
// some bursts with L2 writes that land but report a failure. After each burst settles, every tier read returns what
// the L2 alone returns, and what each replica published, keys messages expanded, is exactly one drop per set or
// delete it issued, with no sequence number skipped.
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals'
import { memoryBus, memoryStorage, type TieredStorage, tieredStorage } from '@memokit/core'
import fc from 'fast-check'
import { type BusMessage, decodeBusMessage } from '../src/bus-protocol'
import { testL2, useFakeClock } from './tiered-helpers'

beforeAll(useFakeClock)
afterAll(() => {
  jest.useRealTimers()
})

const KEYS = ['f:[1]', 'f:[2]', 'g:[1]', 'g:["x"]']
const NAMESPACES = ['a', 'b']
const key = fc.constantFrom(...KEYS)
const namespace = fc.constantFrom(...NAMESPACES)
const replica = fc.nat(1)
const op = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant('set' as const), replica, ns: namespace, key, value: fc.nat(9) }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('get' as const), replica, ns: namespace, key }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), replica, ns: namespace, key }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('clear' as const),
      replica,
      ns: namespace,
      prefix: fc.option(fc.constantFrom('f:', 'g:'), { nil: undefined }),
    }),
  },
)
const burst = fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 12 }), lost: fc.boolean() })
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never

// Real immediates under the fake clock: every promise chain of a burst, the bus's deliveries included, has run.
const drained = () => new Promise((resolve) => setImmediate(resolve))

const issue = (tier: TieredStorage, o: Op): Promise<unknown> => {
  switch (o.t) {
    case 'set':
      return tier.set(o.ns, o.key, o.value)
    case 'get':
      return tier.get(o.ns, o.key)
    case 'delete':
      return tier.delete(o.ns, o.key)
    case 'clear':
      return tier.clear(o.ns, o.prefix)
  }
}

it('bursts on two tiers: every read agrees with the L2, and every set or delete was published once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(burst, { minLength: 1, maxLength: 8 }), async (bursts) => {
      const l2 = testL2()
      const bus = memoryBus()
      const tiers = [0, 1].map(() => tieredStorage({ l1: memoryStorage(), l2: l2.storage, bus, channel: 'b' }))
      const messages: BusMessage[] = []
      await bus.subscribe('b', { message: (p) => messages.push(decodeBusMessage(p) as BusMessage), state() {} })
      await Promise.all(tiers.map((t) => t.ready))
      await drained()
      const senders = new Map<string, number>()
      try {
        for (const { ops, lost } of bursts) {
          if (lost) for (const failing of ['set', 'delete'] as const) l2.lost.add(failing)
          messages.length = 0
          await Promise.allSettled(ops.map((o) => issue(tiers[o.replica] as TieredStorage, o)))
          l2.lost.clear()
          await drained()
          // Published, both replicas together: one drop per set or delete, whatever was merged.
          const dropped = messages.flatMap((m) =>
            m.kind === 'keys' ? m.keys.map((k) => `${m.namespace} ${m.op} ${k}`) : [],
          )
          const asked = ops.flatMap((o) => (o.t === 'set' || o.t === 'delete' ? [`${o.ns} ${o.t} ${o.key}`] : []))
          expect(dropped.sort()).toEqual(asked.sort())
          expect(messages.filter((m) => m.kind !== 'keys' && m.kind !== 'heartbeat')).toHaveLength(
            ops.filter((o) => o.t === 'clear').length,
          )
          for (const m of messages) {
            const last = senders.get(m.sender) ?? m.seq - 1
            expect(m.seq).toBe(last + 1)
            senders.set(m.sender, m.seq)
          }
          for (const tier of tiers)
            for (const ns of NAMESPACES)
              for (const k of KEYS) expect(await tier.get(ns, k)).toEqual(await l2.storage.get(ns, k))
          await drained()
        }
      } finally {
        await Promise.all(tiers.map((t) => t.close()))
      }
    }),
    { numRuns: 150 },
  )
})
