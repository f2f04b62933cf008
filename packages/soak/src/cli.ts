/**
 * `pnpm --filter @memokit/soak run soak -- [--seconds 600] [--backend redis|mongodb|memcached|redis-cluster|all] [--kills N]
 * [--workers N] [--distributed auto|on|off] [--unfenced] [--seed N] [--port N]`, and for `--backend redis-tiered`
 * `[--max-l1-age-ms N] [--bus-kills N] [--broken-tier]`: runs the soak per backend, prints the report, and exits 1
 * when a value was wrong or a caller saw an error.
 */
import { BACKENDS, type Backend, DEFAULTS, type SoakOptions } from './config'
import { formatReport } from './report'
import { runSoak } from './run'

const NUMBERS = [
  'seconds',
  'workers',
  'loops',
  'keys',
  'ttlMs',
  'kills',
  'downMs',
  'port',
  'seed',
  'maxL1AgeMs',
  'busKills',
] as const
const FLAGS = ['unfenced', 'brokenTier'] as const

function parse(argv: readonly string[]): { backends: Backend[]; options: Partial<SoakOptions> } {
  const options: Record<string, unknown> = {}
  let backends: Backend[] = ['redis']
  const args = argv.filter((arg) => arg !== '--')
  for (let i = 0; i < args.length; i++) {
    const name = (args[i] as string).replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    if ((FLAGS as readonly string[]).includes(name)) {
      options[name] = true
      continue
    }
    const value = args[++i]
    if (value === undefined) throw new Error(`${args[i - 1]} needs a value`)
    if (name === 'backend') {
      backends = value === 'all' ? [...BACKENDS] : [value as Backend]
      if (!backends.every((b) => BACKENDS.includes(b))) throw new Error(`--backend ${value}: one of ${BACKENDS}, all`)
    } else if (name === 'distributed') {
      if (!['auto', 'on', 'off'].includes(value)) throw new Error(`--distributed ${value}: auto, on or off`)
      options.distributed = value
    } else if ((NUMBERS as readonly string[]).includes(name)) {
      const n = Number(value)
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} ${value} is not a number`)
      options[name] = n
    } else {
      throw new Error(`unknown option ${args[i - 1]} (known: ${[...NUMBERS, ...FLAGS, 'backend', 'distributed']})`)
    }
  }
  return { backends, options: options as Partial<SoakOptions> }
}

async function main(): Promise<void> {
  const { backends, options } = parse(process.argv.slice(2))
  let failed = false
  for (const backend of backends) {
    // A long soak kills the server every ~30 s unless told otherwise.
    const seconds = options.seconds ?? DEFAULTS.seconds
    const kills = options.kills ?? Math.max(DEFAULTS.kills, Math.floor(seconds / 30))
    // The tiered mode's subscribers are killed as often as its server, unless told otherwise.
    const busKills = options.busKills ?? kills
    // Ports 7410+ by default (a cluster 7470-7475): the CI tests use 7400+ and 7460+, and they may run at once.
    const port = backend === 'redis-cluster' ? 7470 : 7410
    const report = await runSoak({ port, ...options, backend, kills, busKills })
    process.stdout.write(`${formatReport(report)}\n`)
    if (report.wrong > 0 || report.errors > 0) failed = true
  }
  process.exitCode = failed ? 1 : 0
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 2
})
