import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from '@jest/globals'

const fixture = join(__dirname, 'fixtures', 'memory.node-test.ts')

function runNodeTest(file: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
      cwd: join(__dirname, '..', '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

describe('under node:test', () => {
  it('runs the whole suite on memoryStorage and passes', async () => {
    const { code, output } = await runNodeTest(fixture)
    if (code !== 0) throw new Error(`node --test exited with ${code}:\n${output}`)
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? Number.NaN)
    // The suite registers dozens of checks; a handful would mean describe/it were not wired through.
    expect(count('pass')).toBeGreaterThanOrEqual(35)
    expect(count('fail')).toBe(0)
    expect(output).toContain('never shows a torn value')
    expect(output).toContain('exactly one of 20 concurrent acquires wins')
  }, 60_000)
})
