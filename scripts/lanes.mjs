// Runs steps of the test gate in lanes side by side: `node scripts/lanes.mjs "<lane>" "<lane>" ...`, each lane a
// list of shell commands joined by ` && `, run one after another (a failed step skips the rest of its lane; the
// other lanes run on). Why: on CI's two cores many steps leave a core idle (tsc is single-threaded) or spend their
// time waiting (npm's registry, the examples' timers and servers, the benchmark's fixed time slices), so one step's
// wait is another's CPU. Never beside jest (only jest's own waiting files, `pnpm test:unit`'s second lane): its
// timing-bound tests need the machine to themselves.
// Each step's output (stdout and stderr, in arrival order) is held back and printed in one piece when the step
// ends, under a line naming the step, its result and its time; a summary of every step comes last. Exits 1 if any
// step failed or did not run, so `pnpm test` fails as it did when the steps were chained with `&&`.
import { spawn } from 'node:child_process'

const lanes = process.argv.slice(2).map((lane) =>
  lane
    .split(' && ')
    .map((step) => step.trim())
    .filter(Boolean),
)
if (lanes.length === 0 || lanes.some((lane) => lane.length === 0)) {
  console.error('usage: node scripts/lanes.mjs "<command> && <command>" "<command>" ...')
  process.exit(2)
}

/** Steps running now, by process group, so a signal to the runner stops them and what they started. */
const running = new Set()
/** One row per step: command, result ('ok', 'FAILED (exit n)', 'skipped') and seconds. */
const results = []
const seconds = (started) => ((performance.now() - started) / 1000).toFixed(1)

// Detached: each step leads a process group of its own, so stopping it reaches its children (servers, workers).
function runStep(command) {
  return new Promise((resolve) => {
    const started = performance.now()
    const chunks = []
    const child = spawn(command, { shell: true, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child.pid)
    child.stdout.on('data', (chunk) => chunks.push(chunk))
    child.stderr.on('data', (chunk) => chunks.push(chunk))
    const finish = (result) => {
      running.delete(child.pid)
      const output = Buffer.concat(chunks).toString()
      const time = seconds(started)
      process.stdout.write(
        `\n=== ${command}: ${result} in ${time} s ===\n${output}${output === '' || output.endsWith('\n') ? '' : '\n'}`,
      )
      results.push({ command, result, time })
      resolve(result === 'ok')
    }
    child.on('error', (error) => chunks.push(Buffer.from(`${error.message}\n`)))
    child.on('close', (code, signal) => finish(code === 0 ? 'ok' : `FAILED (${signal ?? `exit ${code}`})`))
  })
}

async function runLane(lane) {
  for (const [i, command] of lane.entries()) {
    console.log(`--- started: ${command}`)
    if (!(await runStep(command))) {
      for (const skipped of lane.slice(i + 1)) results.push({ command: skipped, result: 'skipped', time: '-' })
      return
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGTERM')
      } catch {
        // Already gone.
      }
    }
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15))
  })
}

const started = performance.now()
await Promise.all(lanes.map(runLane))
const width = Math.max(...results.map((r) => r.command.length))
console.log(`\n${results.length} steps in ${lanes.length} lanes side by side, ${seconds(started)} s in all:`)
for (const { command, result, time } of results)
  console.log(`  ${command.padEnd(width)}  ${time.padStart(6)} s  ${result}`)
const bad = results.filter((r) => r.result !== 'ok')
if (bad.length > 0) {
  console.error(`${bad.length} step(s) failed or did not run: ${bad.map((r) => r.command).join('; ')}`)
  process.exit(1)
}
