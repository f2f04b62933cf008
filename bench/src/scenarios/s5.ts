import { randomBytes } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import memoize from 'memoize'
import memoizee from 'memoizee'
import moize from 'moize'
import { table } from '../harness'
import { loadMemokit } from '../memokit'
import { cleanup, reachable, redisUrl, type Value, valueFor } from '../redis-common'
import { acdMemory, bentoMemory, cacheManagerMemory, cachifiedMemory } from './peers'
import { memokitContender } from './r1-memokit'
import { contenders } from './r1-peers'
import type { Scenario } from './types'

const CALLS = 1000
const COLD_KEY = 42
const WORK_MS = 20

interface User {
  readonly id: number
}

type Make = (fn: (n: number) => Promise<User>) => { call: (n: number) => Promise<User>; close?: () => Promise<void> }

/**
 * The same stampede over Redis: one instance taking all 1,000 calls, and two instances (two connections and
 * caches, as two processes would have) taking 500 each. In-process de-duplication can't span instances, so the
 * second column shows who coordinates through Redis.
 */
async function overRedis(): Promise<string[]> {
  const url = redisUrl()
  const down = await reachable(url)
  if (down !== undefined) return [`\nOver Redis: skipped, Redis at ${url} unreachable (${down})`]
  const prefix = `mkbench-s5-${process.pid}-${randomBytes(4).toString('hex')}`
  const all = contenders(prefix)
  const lines: string[] = []
  const mk = await memokitContender(prefix)
  if (typeof mk === 'string') lines.push(mk)
  else all.push(mk)
  const rows: string[][] = []
  try {
    let key = 0
    for (const c of all) {
      const counts: string[] = []
      let wrongTotal = 0
      for (const instances of [1, 2]) {
        let runs = 0
        const load = async (n: number): Promise<Value> => {
          runs++
          await new Promise((resolve) => setTimeout(resolve, WORK_MS))
          return valueFor(n)
        }
        const made = await Promise.all(Array.from({ length: instances }, () => c.make(url, load)))
        const k = 5_000_000 + key++
        try {
          const calls = Array.from({ length: CALLS }, (_, i) => (made[i % instances] as (typeof made)[number]).call(k))
          const settled = await Promise.allSettled(calls)
          wrongTotal += settled.filter((r) => r.status !== 'fulfilled' || r.value?.id !== k).length
        } finally {
          for (const m of made) await m.close().catch(() => {})
        }
        counts.push(String(runs))
      }
      const verdict = c.name === 'memokit' ? (counts[0] === '1' ? '; target (1 instance) MET' : '; target MISSED') : ''
      rows.push([
        c.name,
        counts[0] ?? '',
        counts[1] ?? '',
        wrongTotal === 0 ? 'all correct' : `${wrongTotal} wrong/failed`,
        `${c.note}${verdict}`,
      ])
    }
  } finally {
    await cleanup(url, prefix).catch(() => -1)
  }
  return [
    `\nOver Redis (${url}):`,
    table(['contender', 'fn runs, 1 instance', 'fn runs, 2 instances', 'results', 'note'], rows),
    ...lines,
  ]
}

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
    lines.unshift('In memory, one instance:', table(['contender', 'fn runs', 'results', 'note'], rows))
    lines.push(...(await overRedis()))
    return { id: 'S5', title: this.title, rows: [], lines }
  },
}
