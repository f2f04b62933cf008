// Does a hit stay cheap after a burst of concurrent misses? `node --expose-gc --import tsx src/pretenure.ts
// [backend] [processes]` (from bench/; TSX_TSCONFIG_PATH=tsconfig.built.json for the built packages). backend:
// redis (R1's own client, `timeout: 0`, 64 in flight), memcached or mongodb (H1's pairs, 16 in flight), or all.
// `--quick` (the bench smoke): one process, two short rounds, figures meaningless; proves the script still runs.
//
// Why a script of its own: V8 moves an object literal's allocation site to the old generation when its objects
// outlive young collections ("pretenuring"), and a burst of concurrent misses, as at a cold start, keeps every
// object of the burst alive at a collection. A site on the hit path pretenured that way stays so for the life of
// the process. Whether it happens is decided per process, so one process proves nothing: each child here fills its
// keys with one burst (every key missed at once), then times hits against the raw read in interleaved rounds and
// counts the young-generation collections' time (PerformanceObserver 'gc', minor) per 1,000 hits. A process where
// memokit's figure is many times the raw read's keeps its hits' garbage alive (bench README, "Pretenuring").
import { spawnSync } from 'node:child_process'
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { compileLoop, median } from './harness'
import { hitLoop } from './redis-common'

type Call = (k: number) => Promise<unknown>
interface Side {
  name: string
  call: Call
}
interface Setup {
  raw: Side
  memokit: Side
  inFlight: number
  keys: number
  /** Hits per timed round. */
  hits: number
  close(): Promise<void>
}

// R1's own pair: the "own client, no command timeout" row and the raw read on the same kind of client.
async function redisSetup(): Promise<Setup> {
  const { contenders, RAW_NO_TIMEOUT } = await import('./scenarios/r1-peers')
  const { ownClientRows, OWN_NO_TIMEOUT } = await import('./scenarios/r1-memokit')
  const { redisUrl, cleanup, HOT } = await import('./redis-common')
  const url = redisUrl()
  const prefix = `mkpretenure-${process.pid}`
  const rawRow = contenders(prefix).find((c) => c.name === RAW_NO_TIMEOUT)
  const mkRow = (await ownClientRows(prefix)).find((c) => c.name === OWN_NO_TIMEOUT)
  if (rawRow === undefined || mkRow === undefined) throw new Error('redis: R1 has no own-client pair')
  const [raw, memokit] = await Promise.all([rawRow.make(url), mkRow.make(url)])
  // One at a time: a burst of the raw client's own writes could pretenure node-redis' sites, which both sides share.
  for (let k = 0; k < HOT; k++) await raw.call(k)
  return {
    raw: { name: rawRow.name, call: raw.call },
    memokit: { name: mkRow.name, call: memokit.call },
    inFlight: 64,
    keys: HOT,
    hits: 32_000,
    async close() {
      await cleanup(url, prefix)
      await Promise.all([raw.close(), memokit.close()])
    },
  }
}

async function pairSetup(backend: 'memcached' | 'mongodb'): Promise<Setup> {
  const { cacheValue } = await import('@memokit/core')
  const { HOT } = await import('./redis-common')
  const make =
    backend === 'memcached'
      ? (await import('./scenarios/h1-memcached')).memcachedPair
      : (await import('./scenarios/h1-mongo')).mongoPair
  const pair = await make(cacheValue as never)
  if (typeof pair === 'string') throw new Error(`${backend}: ${pair}`)
  const first = pair.memokit[0]
  if (first === undefined) throw new Error(`${backend}: no memokit row`)
  // A read from the MongoDB stand-in (a JavaScript server) takes about 200 µs: fewer hits per round.
  const hits = backend === 'memcached' ? 16_000 : 2_000
  return { raw: pair.raw, memokit: first, inFlight: 16, keys: HOT, hits, close: () => pair.close() }
}

/** One child: the burst, then interleaved rounds; prints one JSON line. */
async function child(backend: string): Promise<void> {
  // The peers' modules loaded, as in R1's process: a heap of a service's size. Without them the slow mode did not
  // show on 0687bbd's build (0 of 6 processes); with them it did in 3 of 6.
  await import('./scenarios/r1-peers')
  const setup = backend === 'redis' ? await redisSetup() : await pairSetup(backend as 'memcached' | 'mongodb')
  const { raw, memokit, inFlight, keys } = setup
  const hits = quick ? setup.hits / 16 : setup.hits
  // The burst: every key missed at once (the cold start this script is about).
  await Promise.all(Array.from({ length: keys }, (_, k) => memokit.call(k)))
  let minorMs = 0
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minorMs += entry.duration
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  // The bench's own loops (one compiled function per side, as R1 and H1 time them).
  const loops = new Map<Call, (n: number) => Promise<unknown>>(
    [raw.call, memokit.call].map((call) => [
      call,
      compileLoop({ call, st: { next: 0 } }, hitLoop(inFlight), 'async') as (n: number) => Promise<unknown>,
    ]),
  )
  const timed = async (call: Call): Promise<{ us: number; gcPerK: number }> => {
    ;(globalThis as { gc?: () => void }).gc?.()
    // Entries arrive asynchronously: let the forced collection's entry land before the count starts.
    await new Promise((resolve) => setTimeout(resolve, 5))
    const gcBefore = minorMs
    const started = process.hrtime.bigint()
    await loops.get(call)?.(hits)
    const us = Number(process.hrtime.bigint() - started) / 1000 / hits
    await new Promise((resolve) => setTimeout(resolve, 5))
    return { us, gcPerK: ((minorMs - gcBefore) / hits) * 1000 }
  }
  await timed(raw.call)
  await timed(memokit.call)
  const rows: { raw: number[]; mk: number[]; rawGc: number[]; mkGc: number[] } = {
    raw: [],
    mk: [],
    rawGc: [],
    mkGc: [],
  }
  for (let round = 0; round < (quick ? 2 : 8); round++) {
    let r: { us: number; gcPerK: number }
    let m: { us: number; gcPerK: number }
    if (round % 2 === 0) {
      r = await timed(raw.call)
      m = await timed(memokit.call)
    } else {
      m = await timed(memokit.call)
      r = await timed(raw.call)
    }
    rows.raw.push(r.us)
    rows.mk.push(m.us)
    rows.rawGc.push(r.gcPerK)
    rows.mkGc.push(m.gcPerK)
  }
  observer.disconnect()
  await setup.close()
  console.log(
    JSON.stringify({
      raw: median(rows.raw),
      memokit: median(rows.mk),
      rawGc: median(rows.rawGc),
      memokitGc: median(rows.mkGc),
    }),
  )
}

function parent(backends: string[], processes: number): void {
  const self = fileURLToPath(import.meta.url)
  for (const backend of backends) {
    const lines: string[] = []
    for (let p = 0; p < processes; p++) {
      const out = spawnSync(process.execPath, [...process.execArgv, self, backend], {
        encoding: 'utf8',
        env: { ...process.env, PRETENURE_CHILD: '1', PRETENURE_QUICK: quick ? '1' : '' },
      })
      const last = out.stdout.trim().split('\n').pop() ?? ''
      if (out.status !== 0 || !last.startsWith('{'))
        throw new Error(`${backend} child failed: ${out.stderr.slice(-2000)}`)
      const r = JSON.parse(last) as { raw: number; memokit: number; rawGc: number; memokitGc: number }
      lines.push(
        `| ${p + 1} | ${r.memokit.toFixed(2)} | ${r.raw.toFixed(2)} | ${(r.raw / r.memokit).toFixed(3)} | ${r.memokitGc.toFixed(2)} | ${r.rawGc.toFixed(2)} |`,
      )
      process.stderr.write(`  ${backend} process ${p + 1}/${processes}\n`)
    }
    console.log(
      `\n### ${backend}: hits after a burst of concurrent misses, one process per line (medians of ${quick ? 2 : 8} rounds${quick ? '; --quick: figures meaningless' : ''})\n`,
    )
    console.log(
      '| process | memokit µs/hit | raw µs/hit | memokit/raw ops | memokit minor GC ms per 1k hits | raw minor GC ms per 1k hits |',
    )
    console.log('|---|---|---|---|---|---|')
    for (const line of lines) console.log(line)
  }
}

const args = process.argv.slice(2).filter((a) => a !== '--quick')
const quick = process.argv.includes('--quick') || process.env.PRETENURE_QUICK === '1'
const which = args[0] ?? 'redis'
if (process.env.PRETENURE_CHILD === '1') await child(which)
else {
  const backends = which === 'all' ? ['redis', 'memcached', 'mongodb'] : [which]
  const { reachable, redisUrl } = await import('./redis-common')
  const down = backends.includes('redis') ? await reachable(redisUrl()) : undefined
  if (down !== undefined) console.log(`pretenure: redis skipped, ${redisUrl()} unreachable (${down})`)
  parent(
    backends.filter((b) => b !== 'redis' || down === undefined),
    quick ? 1 : Number(args[1] ?? 6),
  )
}
