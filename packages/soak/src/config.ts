/**
 * What one soak run does: its backend, how long, how hard, and the shape of the workload. The orchestrator
 * (run.ts) hands a {@link ChildConfig} to every worker and to the writer as one JSON argument.
 */

/**
 * The cache backends the soak runs against (`redis-cluster`: 3 masters + 3 replicas, one master killed;
 * `redis-tiered`: a `tieredStorage` per process, its L1 in memory, its L2 and its `redisBus` on one Redis).
 */
export type Backend = 'redis' | 'mongodb' | 'memcached' | 'redis-cluster' | 'redis-tiered'

/** All backends, in the order `--backend all` runs them. */
export const BACKENDS: readonly Backend[] = ['redis', 'mongodb', 'memcached', 'redis-cluster', 'redis-tiered']

/** The single-flight mode of one cached function of the workload. */
export type FlightMode = 'process' | 'distributed'

/** Options of one soak run; every field has a default ({@link DEFAULTS}). */
export interface SoakOptions {
  /** The cache backend. Default: `'redis'`. */
  readonly backend: Backend
  /** How long the workers call, in seconds (setup and checking come on top). Default: 15. */
  readonly seconds: number
  /** Worker processes. Default: 4. */
  readonly workers: number
  /** Concurrent call loops in each worker. Default: 6. */
  readonly loops: number
  /** Size of the hot key set the calls pick from. Default: 20. */
  readonly keys: number
  /** Entry time to live in ms (short, so entries expire and refill during the run). Default: 1500. */
  readonly ttlMs: number
  /** How long `fn` takes, ms: uniform in [min, max]. Default: 20..60. */
  readonly fnMs: readonly [number, number]
  /** Pause between two calls of one loop, ms: uniform in [min, max]. Default: 2..20. */
  readonly thinkMs: readonly [number, number]
  /** Pause between two truth updates of the writer, ms: uniform in [min, max]. Default: 20..80. */
  readonly updateMs: readonly [number, number]
  /**
   * How many times the chaos step kills the cache server (SIGKILL, by PID) and restarts it; on a cluster, kills a
   * master and brings it back as a replica after the failover. Default: 2.
   */
  readonly kills: number
  /** How long the killed server stays down, ms (a cluster's killed master: at least until the failover). Default: 500. */
  readonly downMs: number
  /**
   * Which functions use `singleFlight: 'distributed'` (the others the default, process-local). `'auto'`: the
   * distributed ones when core and the backend support it, else none (said in the report). Default: `'auto'`.
   */
  readonly distributed: 'auto' | 'on' | 'off'
  /**
   * Hide the storage's lease members from core, which then writes results unfenced (as before leases existed):
   * the harness's own check that it finds the stale writes fencing prevents. Default: false.
   */
  readonly unfenced: boolean
  /**
   * The ports range start for servers the soak starts: Redis takes this one, MongoDB the next, memcached the one
   * after, the tiered mode's Redis the one after that (+3), a Redis Cluster this one and the 5 after it. Default: 7400.
   */
  readonly port: number
  /** Seed of the workload's random choices (each process derives its own). Default: the current time. */
  readonly seed: number
  /**
   * `redis-tiered`: the tiers' `maxL1Age` in ms, and the staleness bound the checker allows (plus
   * {@link TIER_SLACK_MS}). Default: 2000.
   */
  readonly maxL1AgeMs: number
  /**
   * `redis-tiered`: how many times the chaos step kills every bus subscriber (`CLIENT KILL TYPE pubsub`), beside
   * the `kills` of the server. Default: as many as `kills`.
   */
  readonly busKills: number
  /**
   * `redis-tiered`: the check's own proof that it can fail. Each process's tier hears only its own channel (a
   * misconfiguration the tier can't detect: its own heartbeats come back) and keeps copies for 30 s, while the
   * checker still allows `maxL1AgeMs`. Default: false.
   */
  readonly brokenTier: boolean
}

export const DEFAULTS: SoakOptions = Object.freeze({
  backend: 'redis',
  seconds: 15,
  workers: 4,
  loops: 6,
  keys: 20,
  ttlMs: 1500,
  fnMs: [20, 60] as const,
  thinkMs: [2, 20] as const,
  updateMs: [20, 80] as const,
  kills: 2,
  downMs: 500,
  distributed: 'auto',
  unfenced: false,
  port: 7400,
  seed: Date.now(),
  maxL1AgeMs: 2000,
  busKills: 2,
  brokenTier: false,
})

/**
 * What `redis-tiered` changes in {@link DEFAULTS}: a ttl well past `maxL1AgeMs`, so `maxL1Age` (not the entry's
 * expiry) is what ends an L1 copy, and a tier that lost its bus could serve a copy past the bound (the broken tier
 * does: it must be caught).
 */
export const TIERED_DEFAULTS: Partial<SoakOptions> = Object.freeze({ ttlMs: 5000 })

/**
 * The checker's allowance on top of `maxL1AgeMs`, ms. An L1 copy's age counts from when it entered the L1, after
 * the L2 answered the read it copies; the version it holds may have been superseded at the server just after that
 * answer. So the bound, measured from the invalidation, is `maxL1Age` plus the time from Redis answering to the
 * tier storing the copy (the reply crossing loopback and waiting for the worker's event loop, tens of ms on a loaded
 * machine), plus 1 ms of `Date.now()` granularity in each of the two processes whose clocks are compared.
 */
export const TIER_SLACK_MS = 100

/** What a worker or the writer needs to know: the run's options plus where everything is. */
export interface ChildConfig {
  readonly options: SoakOptions
  /** The cache server's URL (Redis, MongoDB), `host:port` (memcached) or nodes' URLs, comma-separated (Cluster). */
  readonly cacheUrl: string
  /** The storage prefix of this run, so runs never share entries. */
  readonly prefix: string
  /** The truth's Redis (never the cache server: chaos must not touch it) and this run's key prefix there. */
  readonly truthUrl: string
  readonly truthPrefix: string
  /** Whether core stores through the storage's leases in this run (it has them, and they are not hidden). */
  readonly leases: boolean
  /** Whether the distributed functions run with `singleFlight: 'distributed'` in this run. */
  readonly distributed: boolean
  /** Which process this is: `worker-0`..`worker-N`, or `writer`. */
  readonly role: string
  /** Where the process writes its records (JSON lines) when it stops. */
  readonly out: string
}

/** A deterministic random source (mulberry32), so a run's workload can be replayed from its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A uniform integer in [min, max]. */
export const between = (rand: () => number, [min, max]: readonly [number, number]): number =>
  min + Math.floor(rand() * (max - min + 1))
