/**
 * The chaos step of a run: the cache server killed and restarted `kills` times and, on `redis-tiered`, every bus
 * subscriber killed `busKills` times (`CLIENT KILL TYPE pubsub`), each kind evenly spread over the calling phase,
 * the two interleaved.
 */
import type { SoakOptions } from './config'
import type { BusKillRecord, ChaosRecord } from './records'
import type { CacheServer } from './servers'

/** What the chaos step did. */
export interface ChaosLog {
  readonly server: ChaosRecord[]
  readonly bus: BusKillRecord[]
}

interface Step {
  readonly kind: 'server' | 'bus'
  /** When, as a fraction of the calling phase. */
  readonly at: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The steps in time order: server kills at i/(kills + 1), as before bus kills existed; bus kills half a period
 * earlier in their own spacing, so with equal counts the kinds alternate, a bus kill first, and no two coincide.
 */
export function schedule(kills: number, busKills: number): Step[] {
  const server = Array.from({ length: kills }, (_, i) => ({ kind: 'server' as const, at: (i + 1) / (kills + 1) }))
  const bus = Array.from({ length: busKills }, (_, i) => ({ kind: 'bus' as const, at: (i + 0.5) / (busKills + 1) }))
  return [...server, ...bus].sort((x, y) => x.at - y.at)
}

/** Runs the chaos steps of a calling phase that began at `start`; returns when the last one is done. */
export async function chaos(server: CacheServer, options: SoakOptions, start: number, log: ChaosLog): Promise<void> {
  const { killSubscribers } = server
  // Only the tiered mode has buses to kill; elsewhere the option means nothing.
  const busKills = options.backend === 'redis-tiered' && killSubscribers !== undefined ? options.busKills : 0
  for (const step of schedule(options.kills, busKills)) {
    await sleep(Math.max(0, start + options.seconds * 1000 * step.at - Date.now()))
    if (step.kind === 'bus' && killSubscribers !== undefined) {
      const at = Date.now()
      log.bus.push({ at, killed: await killSubscribers.call(server) })
      continue
    }
    const killed = Date.now()
    await server.kill()
    await sleep(options.downMs)
    const note = await server.restart()
    log.server.push({ killed, restarted: Date.now(), ...(note === undefined ? {} : { note }) })
  }
}
