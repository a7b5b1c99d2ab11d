import { achievedLine, serverText, verdictLabel, type RunResult } from './result.js'
import { hostLine } from '../metrics/host.js'
import { driftMarkdown } from './soak.js'
import type { TimelinePoint } from './timeline.js'
import { faultsMarkdown } from '../faults/report.js'
import { propertyStatus } from '../verify/status.js'

const fmt = (n: number): string =>
  Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 3 })
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/** Per-second rates from the cumulative timeline: (t, Δcount / Δt) for each field. */
export function ratesOf(
  points: readonly TimelinePoint[],
  field: 'offered' | 'sent' | 'acked' | 'ingested' | 'deadLetters',
): Array<{ t: number; perS: number }> {
  const out: Array<{ t: number; perS: number }> = []
  let prevT = 0
  let prev = 0
  for (const p of points) {
    const dt = p.t - prevT
    if (dt > 0) out.push({ t: p.t, perS: Math.round((p[field] - prev) / dt) })
    prevT = p.t
    prev = p[field]
  }
  return out
}

/** bench-results/<run>/report.md: the verdict and its numbers, readable in a terminal or a pull request. */
export function renderMarkdown(r: RunResult): string {
  const L: string[] = []
  L.push(`# iotbench ${r.runId} — ${verdictLabel(r.verdict)}`)
  L.push('')
  L.push(`Profile \`${r.profile}\`, seed ${r.seed}, ${r.startedAt} → ${r.finishedAt}.`)
  if (r.interrupted) L.push(`**Interrupted.** ${r.interrupted}.`)
  if (r.timingOnSaturatedHost) L.push(`**Timing only, on a saturated host.** ${r.timingOnSaturatedHost}.`)
  if (r.host) L.push(`Host: ${hostLine(r.host, r.latency.scheduleLag.p99Ms)}.`)
  L.push(
    `Broker: ${r.environment.broker} (MQTT ${r.environment.mqttVersion === 5 ? '5' : '3.1.1'}). Database: ${r.environment.database} [${r.environment.storage}; ${serverText(r.environment)}]. Node ${r.environment.node}, ${r.environment.cpus} CPUs, ${r.environment.platform}.`,
  )
  L.push('')
  L.push('## Properties')
  L.push('')
  L.push('| | id | property | summary |')
  L.push('|---|---|---|---|')
  for (const p of r.properties)
    L.push(`| ${propertyStatus(p) === 'FAIL' ? '**FAIL**' : propertyStatus(p)} | ${p.id} | ${cell(p.name)} | ${cell(p.summary)} |`)
  L.push('')
  L.push('## Throughput')
  L.push('')
  L.push(`${achievedLine(r.rates)}.`)
  const c = r.counts
  L.push('')
  L.push(
    '| devices | per device | offered | published | acked | received | ingested | dead letters | batches | db retries | duplicates skipped |',
  )
  L.push('|---|---|---|---|---|---|---|---|---|---|---|')
  L.push(
    `| ${[c.devices, c.perDevice, c.offered, c.published, c.acked, c.received, c.ingested, c.deadLetters, c.batches, c.dbRetries, c.duplicatesSkipped].map(fmt).join(' | ')} |`,
  )
  if (r.countsByKind) {
    L.push('')
    L.push('| kind | offered | published | acked | ingested | dead letters | published − ingested |')
    L.push('|---|---|---|---|---|---|---|')
    for (const [kind, k] of Object.entries(r.countsByKind)) {
      L.push(
        `| ${kind} | ${fmt(k.offered)} | ${fmt(k.published)} | ${fmt(k.acked)} | ${fmt(k.ingested)} | ${fmt(k.deadLetters)} | ${fmt(k.published - k.ingested)} |`,
      )
    }
  }
  L.push('')
  L.push('## Latency (ms)')
  L.push('')
  L.push('| | count | p50 | p90 | p99 | p99.9 | max | mean |')
  L.push('|---|---|---|---|---|---|---|---|')
  const names: Record<string, string> = {
    endToEnd: 'end to end (intended send → commit)',
    brokerHop: 'broker hop (intended send → ingest)',
    scheduleLag: 'schedule lag (actual − intended send)',
    publishAck: 'publish → PUBACK',
  }
  for (const [key, s] of Object.entries(r.latency)) {
    L.push(`| ${names[key] ?? key} | ${fmt(s.count)} | ${s.p50Ms} | ${s.p90Ms} | ${s.p99Ms} | ${s.p999Ms} | ${s.maxMs} | ${s.meanMs} |`)
  }
  const dl = Object.entries(r.deadLetterReasons)
  if (dl.length) {
    L.push('')
    L.push('## Dead letters')
    L.push('')
    L.push('| reason | count |')
    L.push('|---|---|')
    for (const [reason, n] of dl.sort((a, b) => b[1] - a[1])) L.push(`| ${cell(reason)} | ${fmt(n)} |`)
  }
  const tl = r.timeline
  if (tl && tl.points.length) {
    const ingest = ratesOf(tl.points, 'ingested')
    const worst = tl.points.reduce((a, b) => (b.p99Ms > a.p99Ms ? b : a))
    L.push('')
    L.push('## Over time')
    L.push('')
    L.push(
      `${tl.points.length} one-second samples. Peak ingest ${fmt(Math.max(0, ...ingest.map((x) => x.perS)))}/s; worst one-second p99 ${worst.p99Ms} ms at ${worst.t} s.`,
    )
    if (tl.events.length) {
      L.push('')
      L.push('| t (s) | event | what | count |')
      L.push('|---|---|---|---|')
      for (const e of tl.events.slice(0, 50))
        L.push(`| ${e.t} | ${e.type} | ${cell(e.name)}${e.seconds ? ` (${e.seconds} s)` : ''} | ${fmt(e.count)} |`)
      if (tl.events.length > 50) L.push(`| … | ${tl.events.length - 50} more in result.json | | |`)
    }
  }
  if (r.drift) L.push('', ...driftMarkdown(r.drift))
  L.push(...faultsMarkdown(r))
  L.push('')
  L.push('Plots: `report.html` beside this file. Raw data: `result.json`.')
  return `${L.join('\n')}\n`
}
