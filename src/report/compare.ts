import { ConfigError } from '../errors.js'
import type { RunResult } from './result.js'

/** How much worse the current run may be than the baseline before it counts as a regression. */
export interface Thresholds {
  /** End-to-end p99 may grow by this fraction (percent form) or this many ms. */
  readonly p99: { readonly unit: 'percent' | 'ms'; readonly value: number }
  /** Achieved throughput may drop by this fraction. */
  readonly throughputPercent: number
}

export const DEFAULT_THRESHOLDS: Thresholds = { p99: { unit: 'percent', value: 10 }, throughputPercent: 5 }

/** "10%" or "10" → 10 percent; with allowMs, "50ms" → 50 ms. Every problem is reported by the caller at once. */
export function parseThreshold(flag: string, raw: string, allowMs: boolean): { unit: 'percent' | 'ms'; value: number } | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%|ms)?\s*$/.exec(raw)
  if (!m) return `${flag} must be a percentage like 10%${allowMs ? ' or a duration like 50ms' : ''} (got ${JSON.stringify(raw)})`
  if (m[2] === 'ms' && !allowMs) return `${flag} takes a percentage, not ms (got ${JSON.stringify(raw)})`
  return { unit: m[2] === 'ms' ? 'ms' : 'percent', value: Number(m[1]) }
}

export function thresholdsFrom(p99: string | undefined, throughput: string | undefined): Thresholds {
  const problems: string[] = []
  const a = p99 === undefined ? DEFAULT_THRESHOLDS.p99 : parseThreshold('--threshold-p99', p99, true)
  const b =
    throughput === undefined
      ? { unit: 'percent' as const, value: DEFAULT_THRESHOLDS.throughputPercent }
      : parseThreshold('--threshold-throughput', throughput, false)
  if (typeof a === 'string') problems.push(a)
  if (typeof b === 'string') problems.push(b)
  else if (b.value >= 100) problems.push('--threshold-throughput must be below 100%')
  if (problems.length) throw new ConfigError(problems)
  return { p99: a as Thresholds['p99'], throughputPercent: (b as { value: number }).value }
}

export interface ComparisonRow {
  readonly metric: string
  readonly baseline: number | string
  readonly current: number | string
  /** Relative change in percent (numbers only). */
  readonly changePercent?: number
  /** The limit the current value is held to, as text; absent for rows shown for information. */
  readonly limit?: string
  readonly regression: boolean
}

export interface Comparison {
  readonly baseline: string
  readonly current: string
  readonly rows: readonly ComparisonRow[]
  readonly regressions: readonly string[]
  /** Differences that make the two runs less comparable (profile, rate, fleet, broker). */
  readonly notes: readonly string[]
}

const pct = (base: number, cur: number): number | undefined => (base === 0 ? undefined : Math.round(((cur - base) / base) * 1000) / 10)
const missing = (r: RunResult): number => Math.max(0, r.counts.published - r.counts.ingested)

/** Compares a current run with a baseline: regressions are what the thresholds and the verdicts say. */
export function compareRuns(base: RunResult, cur: RunResult, t: Thresholds = DEFAULT_THRESHOLDS): Comparison {
  const rows: ComparisonRow[] = []
  const num = (metric: string, b: number, c: number, limit?: { text: string; broken: boolean }): void => {
    const changePercent = pct(b, c)
    rows.push({
      metric,
      baseline: b,
      current: c,
      ...(changePercent !== undefined && { changePercent }),
      ...(limit && { limit: limit.text }),
      regression: limit?.broken ?? false,
    })
  }

  // Schema 1 results counted what was handed to the MQTT client (src/report/files.ts reads them so).
  const bT = base.rates.achievedPerS
  const cT = cur.rates.achievedPerS
  const minT = bT * (1 - t.throughputPercent / 100)
  num('throughput achieved (readings/s)', bT, cT, { text: `≥ ${Math.round(minT)} (−${t.throughputPercent}%)`, broken: cT < minT })

  const bP = base.latency.endToEnd.p99Ms
  const cP = cur.latency.endToEnd.p99Ms
  const maxP = t.p99.unit === 'percent' ? bP * (1 + t.p99.value / 100) : bP + t.p99.value
  num('end-to-end p99 (ms)', bP, cP, {
    text: `≤ ${Math.round(maxP * 1000) / 1000} (+${t.p99.value}${t.p99.unit === 'percent' ? '%' : ' ms'})`,
    broken: cP > maxP,
  })
  num('end-to-end p50 (ms)', base.latency.endToEnd.p50Ms, cur.latency.endToEnd.p50Ms)
  num('end-to-end p99.9 (ms)', base.latency.endToEnd.p999Ms, cur.latency.endToEnd.p999Ms)
  num('end-to-end max (ms)', base.latency.endToEnd.maxMs, cur.latency.endToEnd.maxMs)
  num('missing readings (published − ingested)', missing(base), missing(cur), {
    text: `≤ ${missing(base)}`,
    broken: missing(cur) > missing(base),
  })
  num('dead letters', base.counts.deadLetters, cur.counts.deadLetters)

  rows.push({
    metric: 'verdict',
    baseline: base.verdict,
    current: cur.verdict,
    limit: base.verdict === 'pass' ? 'pass' : 'any',
    regression: base.verdict === 'pass' && cur.verdict !== 'pass',
  })
  const before = new Map(base.properties.map((p) => [p.id, p]))
  for (const p of cur.properties) {
    const b = before.get(p.id)
    if (!b) continue
    rows.push({
      metric: `${p.id} ${p.name}`,
      baseline: b.pass ? 'pass' : 'fail',
      current: p.pass ? 'pass' : 'fail',
      ...(b.pass && { limit: 'pass' }),
      regression: b.pass && !p.pass,
    })
  }

  const notes: string[] = []
  if (base.profile !== cur.profile) notes.push(`profiles differ: ${base.profile} vs ${cur.profile}`)
  if (base.rates.offeredPerS !== cur.rates.offeredPerS)
    notes.push(`offered rates differ: ${base.rates.offeredPerS}/s vs ${cur.rates.offeredPerS}/s`)
  if (base.counts.devices !== cur.counts.devices) notes.push(`fleets differ: ${base.counts.devices} vs ${cur.counts.devices} devices`)
  if (base.environment.broker.split(' (')[0] !== cur.environment.broker.split(' (')[0])
    notes.push(`brokers differ: ${base.environment.broker} vs ${cur.environment.broker}`)

  return { baseline: base.runId, current: cur.runId, rows, regressions: rows.filter((r) => r.regression).map((r) => r.metric), notes }
}

export function comparisonText(c: Comparison): string {
  const L: string[] = [`iotbench compare: baseline ${c.baseline} → current ${c.current}`]
  const w = Math.max(...c.rows.map((r) => r.metric.length))
  for (const r of c.rows) {
    const change = r.changePercent === undefined ? '' : ` (${r.changePercent > 0 ? '+' : ''}${r.changePercent}%)`
    L.push(
      `  ${r.regression ? 'REGRESSION' : 'ok        '} ${r.metric.padEnd(w)}  ${String(r.baseline).padStart(10)} → ${String(r.current).padEnd(10)}${change}${r.limit ? `  limit ${r.limit}` : ''}`,
    )
  }
  for (const n of c.notes) L.push(`  note: ${n}`)
  L.push(c.regressions.length ? `REGRESSION: ${c.regressions.join('; ')}` : 'no regression')
  return L.join('\n')
}
