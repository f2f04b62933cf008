// Number and table formatting for the bench's Markdown output.
import { cpus } from 'node:os'
import type { BenchConfig, Row } from './harness'

export function fmtOps(v: number): string {
  if (!Number.isFinite(v)) return 'n/a'
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`
  return v.toFixed(0)
}

export function fmtRatio(v: number): string {
  if (!Number.isFinite(v)) return 'n/a'
  if (v >= 0.1) return v.toFixed(2)
  if (v >= 0.01) return v.toFixed(3)
  return v.toFixed(4)
}

/** A plain-text table; also valid Markdown. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

export function rowsTable(rows: readonly Row[]): string {
  return table(
    ['contender', 'median ops/s', 'ratio', 'IQR of ratio', 'note'],
    rows.map((r) => [r.name, fmtOps(r.medianOps), fmtRatio(r.ratio), `${fmtRatio(r.p25)}-${fmtRatio(r.p75)}`, r.note]),
  )
}

/** Where `@memokit/core` resolves: the sources (tsx, tsconfig paths) or the built package (`pnpm bench:built`). */
function memokitSource(): string {
  try {
    const url = import.meta.resolve('@memokit/core')
    return url.includes('/dist/') ? 'the built packages (dist), as users get them' : 'the sources, through tsx'
  } catch {
    return 'unknown'
  }
}

export function header(cfg: BenchConfig): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  return [
    `memokit bench — ${new Date().toISOString()}`,
    `Node ${process.version} (${process.platform}/${process.arch}), ${cpu} x${cpus().length}`,
    `memokit from: ${memokitSource()}`,
    `mode: ${cfg.quick ? 'quick (smoke run, figures not meaningful)' : 'full'}; ${cfg.rounds} rounds x ${cfg.sliceMs} ms per contender (after ${cfg.settleMs}-${cfg.settleMaxMs} ms untimed, until V8's compiler is idle), interleaved; gc: ${typeof (globalThis as { gc?: unknown }).gc === 'function' ? 'exposed' : 'NOT exposed (run with --expose-gc)'}`,
  ].join('\n')
}
