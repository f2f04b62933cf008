import { LRUCache } from 'lru-cache'
import memoize from 'memoize'
import memoizee from 'memoizee'
import moize from 'moize'
import { table } from '../harness'
import { loadMemokit } from '../memokit'
import { acdMemory, bentoMemory, cacheManagerMemory, cachifiedMemory } from './peers'
import type { Scenario } from './types'

const CALLS = 1000
const COLD_KEY = 42
const WORK_MS = 20

interface User {
  readonly id: number
}

type Make = (fn: (n: number) => Promise<User>) => { call: (n: number) => Promise<User>; close?: () => Promise<void> }

/** S5: 1,000 concurrent calls on one cold key; how many times does the function run? */
export const s5: Scenario = {
  id: 'S5',
  title: `${CALLS} concurrent calls on one cold key (fn takes ${WORK_MS} ms): how many times fn ran`,
  async run() {
    const makers: [string, string, Make][] = [
      [
        'lru-cache fetch',
        'fetchMethod',
        (fn) => {
          const lru = new LRUCache<number, User>({ max: 100, fetchMethod: (n) => fn(n) })
          return { call: (n) => lru.fetch(n) as Promise<User> }
        },
      ],
      ['memoizee', 'promise: true', (fn) => ({ call: memoizee(fn, { promise: true }) })],
      ['memoize', 'caches the promise', (fn) => ({ call: memoize(fn) })],
      ['moize', 'isPromise: true', (fn) => ({ call: moize(fn, { isPromise: true }) })],
      ['async-cache-dedupe', 'memory storage', (fn) => ({ call: acdMemory(fn) })],
      ['cache-manager', 'wrap, default store', (fn) => ({ call: cacheManagerMemory(fn) })],
      ['cachified', 'cache: new Map()', (fn) => ({ call: cachifiedMemory(fn) })],
      ['bentocache', 'getOrSet, memory L1', (fn) => bentoMemory(fn)],
    ]
    const lines: string[] = []
    const mk = await loadMemokit()
    if (mk.cacheValue) {
      const cacheValue = mk.cacheValue
      makers.push([
        'memokit',
        'cacheValue, memoryStorage(); target: exactly 1',
        (fn) => ({ call: cacheValue(fn, { storage: mk.memoryStorage(), name: 'bench.s5' }) }),
      ])
    } else lines.push(`memokit skipped: ${mk.reason}`)

    const rows: string[][] = []
    for (const [name, note, make] of makers) {
      let runs = 0
      const fn = async (n: number): Promise<User> => {
        runs++
        await new Promise((resolve) => setTimeout(resolve, WORK_MS))
        return { id: n }
      }
      const c = make(fn)
      const calls = Array.from({ length: CALLS }, () => c.call(COLD_KEY))
      const settled = await Promise.allSettled(calls)
      const wrong = settled.filter((s) => s.status !== 'fulfilled' || s.value?.id !== COLD_KEY).length
      await c.close?.()
      let verdict = ''
      if (name === 'memokit') verdict = runs === 1 ? 'target MET' : 'target MISSED'
      rows.push([
        name,
        String(runs),
        wrong === 0 ? 'all correct' : `${wrong} wrong/failed`,
        `${note}${verdict ? `; ${verdict}` : ''}`,
      ])
    }
    lines.unshift(table(['contender', 'fn runs', 'results', 'note'], rows))
    return { id: 'S5', title: this.title, rows: [], lines }
  },
}
