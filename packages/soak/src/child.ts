/**
 * How the orchestrator runs its worker and writer processes: `node --import tsx <script> <config JSON>` from the
 * repository root (so `@memokit/*` resolve to the sources), with a line protocol: the child prints `ready` once
 * connected, starts on `go`, stops on `stop`, writes its records to `config.out` and prints `done`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { ChildConfig } from './config'

const repoRoot = join(__dirname, '..', '..', '..')

/** A running child process, seen from the orchestrator. */
export interface Child {
  readonly role: string
  /** Resolves when the child printed `ready`; rejects if it exited before. */
  readonly ready: Promise<void>
  /** Resolves when the child printed `done` (its records are written); rejects if it exited before. */
  readonly done: Promise<void>
  send(line: 'go' | 'stop'): void
  /** SIGKILLs the child if it still runs (cleanup after a failure). */
  kill(): void
}

/** Starts `script` (a file in this directory) with `config`. */
export function startChild(script: string, config: ChildConfig): Child {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, script), JSON.stringify(config)],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const seen = new Map<string, () => void>()
  const waitFor = (word: string) =>
    new Promise<void>((resolve, reject) => {
      seen.set(word, resolve)
      child.once('exit', (code, signal) =>
        reject(new Error(`${config.role} exited (${code ?? signal}) before '${word}': ${stderr}`)),
      )
    })
  const ready = waitFor('ready')
  const done = waitFor('done')
  // Whoever awaits only one of them must not see the other's rejection as unhandled.
  ready.catch(() => {})
  done.catch(() => {})
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => seen.get(line.trim())?.())
  return {
    role: config.role,
    ready,
    done,
    send: (line) => child.stdin?.write(`${line}\n`),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

/**
 * The child's side: parses the config, runs `setup` and prints `ready`, runs `run` from `go` until `stop` (its
 * `stopped()` turns true), then `finish` (which writes the records), prints `done` and exits.
 */
export function childMain<S>(
  setup: (config: ChildConfig) => Promise<S>,
  run: (state: S, stopped: () => boolean) => Promise<void>,
  finish: (state: S) => Promise<void>,
): void {
  const config = JSON.parse(process.argv[2] as string) as ChildConfig
  let stop = false
  let go: () => void = () => {}
  const started = new Promise<void>((resolve) => {
    go = resolve
  })
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    if (line === 'go') go()
    if (line === 'stop') stop = true
  })
  // The orchestrator died: stop as if told to, so no process outlives the run.
  lines.on('close', () => {
    stop = true
    go()
  })
  const main = async () => {
    const state = await setup(config)
    process.stdout.write('ready\n')
    await started
    await run(state, () => stop)
    await finish(state)
    process.stdout.write('done\n')
  }
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${config.role}: ${error instanceof Error ? error.stack : String(error)}\n`)
      process.exit(1)
    },
  )
}
