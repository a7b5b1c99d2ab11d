import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LatencySummary } from '../util/histogram.js'
import type { PropertyResult } from '../verify/types.js'
import type { Drift } from './soak.js'
import type { StageTimes } from '../max/stages.js'
import { cpuLine, type CpuReport } from '../metrics/cpu.js'
import type { CountsByKind, LatencyDistribution, RunTimeline } from './timeline.js'
import type { FaultReport } from '../faults/analysis.js'
import type { DeviceReport } from '../faults/run-faults.js'
import { hostLine, type HostLoad } from '../metrics/host.js'
import { propertyStatus } from '../verify/status.js'

export type Verdict = 'pass' | 'fail' | 'interrupted'

/** The verdict as the summary's first line, the reports and the JUnit suite name it. */
export const verdictLabel = (v: Verdict): string => ({ pass: 'PASS', fail: 'FAIL', interrupted: 'INTERRUPTED' })[v]

/** bench-results/<run>/result.json. Bump RESULT_SCHEMA_VERSION on any incompatible change. */
export const RESULT_SCHEMA_VERSION = 2

/**
 * What "achieved" counts: readings the broker acknowledged (QoS 1, PUBACK) or the socket took (QoS 0);
 * `published` only in results of schema 1, which counted what was handed to the MQTT client.
 */
export type AchievedCounts = 'acknowledged' | 'written' | 'published'

export const achievedMeaning: Readonly<Record<AchievedCounts, string>> = {
  acknowledged: 'acknowledged by the broker',
  written: 'written to the socket',
  published: 'handed to the MQTT client',
}

export interface RunRates {
  readonly offeredPerS: number
  /** Readings that reached the broker per second (see achievedCounts), from the first publish to the last acknowledgement. */
  readonly achievedPerS: number
  readonly achievedCounts: AchievedCounts
  /** Readings handed to the MQTT client per second, from the first publish to the last. */
  readonly publishedPerS: number
  /** Seconds from the first publish to the last acknowledgement. */
  readonly loadSeconds: number
}

/** The run's rates from its counts and the simulators' first publish, last publish and last acknowledgement (epoch ms). */
export function runRates(
  offeredPerS: number,
  qos: number,
  counts: { readonly published: number; readonly acked: number },
  firstSendMs: number,
  lastSendMs: number,
  lastAckMs: number,
): RunRates {
  const perS = (n: number, ms: number): number => (ms > 0 ? Math.round((n * 1000) / ms) : n)
  const loadMs = Math.max(lastSendMs, lastAckMs) - firstSendMs
  return {
    offeredPerS,
    achievedPerS: perS(counts.acked, loadMs),
    achievedCounts: qos > 0 ? 'acknowledged' : 'written',
    publishedPerS: perS(counts.published, lastSendMs - firstSendMs),
    loadSeconds: Math.round(loadMs / 10) / 100,
  }
}

export interface RunResult {
  readonly schemaVersion: typeof RESULT_SCHEMA_VERSION
  readonly runId: string
  readonly dbRunId: number
  readonly profile: string
  readonly seed: number
  readonly startedAt: string
  readonly finishedAt: string
  /** `interrupted`: SIGINT/SIGTERM stopped the load; the properties judge the shortened run (see `interrupted`). */
  readonly verdict: Verdict
  /** Why and where the load stopped, when the verdict is `interrupted`. */
  readonly interrupted?: string
  /** A `fail` made by timing properties alone on a saturated host (exit 7 unless --strict-timing), with the figures. */
  readonly timingOnSaturatedHost?: string
  /** The host during the run: CPU busy and steal of the whole machine, this process's share, load average, event-loop lag. */
  readonly host?: HostLoad
  readonly config: Readonly<Record<string, unknown>>
  readonly environment: {
    readonly node: string
    readonly platform: string
    readonly cpus: number
    readonly broker: string
    readonly database: string
    readonly storage: string
    readonly serverVersion: string
    /** The TimescaleDB extension's version (null on plain PostgreSQL); absent in results written before it was recorded. */
    readonly timescaledbVersion?: string | null
    /** Whether TimescaleDB's scheduler runs the policy jobs (src/db/server.ts). */
    readonly backgroundJobs?: string
    readonly mqttVersion: number
  }
  readonly counts: {
    readonly devices: number
    readonly perDevice: number
    readonly offered: number
    readonly published: number
    readonly acked: number
    readonly received: number
    readonly ingested: number
    readonly deadLetters: number
    readonly batches: number
    readonly dbRetries: number
    readonly duplicatesSkipped: number
  }
  readonly rates: RunRates
  /** What had not finished when the run's deadline (planned end of the load + drain timeout) came. */
  readonly unfinished?: readonly string[]
  readonly latency: {
    readonly endToEnd: LatencySummary
    readonly brokerHop: LatencySummary
    readonly scheduleLag: LatencySummary
    readonly publishAck: LatencySummary
  }
  readonly deadLetterReasons: Readonly<Record<string, number>>
  readonly properties: readonly PropertyResult[]
  /** Per-second series of the run (absent in results written before it existed). */
  readonly timeline?: RunTimeline
  /** Offered, published, acked, ingested and dead-lettered readings per sensor kind. */
  readonly countsByKind?: CountsByKind
  /** Percentile spectra of the merged latency histograms, for the report's distribution plot. */
  readonly latencyDistribution?: LatencyDistribution
  /** Memory and p99 lines after the warm-up (src/report/soak.ts); absent for runs too short to fit one. */
  readonly drift?: Drift
  /** What the transport adds (--transport kafka: topic, group assignments, consumer exits, Kafka hop). */
  readonly transport?: Record<string, unknown>
  /** Injected faults: when each began and ended, loss per fault window, latency recovery per fault (src/faults/). */
  readonly faults?: FaultReport
  /** How the simulated devices behaved: queue bound and policy, readings it dropped, reconnects. */
  readonly devices?: DeviceReport
  /** Where the ingest's time went (COPY/commit share), for naming a limiting component (src/max/). */
  readonly stages?: StageTimes
  /** CPU seconds per component (simulators, broker, ingest, database, oracle, live clients, main), per 100k readings (src/metrics/cpu.ts). */
  readonly cpu?: CpuReport
}

export function writeResult(dir: string, result: RunResult): string {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'result.json')
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
  return file
}

/** The one-screen summary printed at the end of a run or a verify. */
/** The database server in one phrase: "PostgreSQL 15.20, TimescaleDB 2.28.3, background jobs enabled (…)". */
export const serverText = (e: Pick<RunResult['environment'], 'serverVersion' | 'timescaledbVersion' | 'backgroundJobs'>): string =>
  `PostgreSQL ${e.serverVersion}${e.timescaledbVersion ? `, TimescaleDB ${e.timescaledbVersion}` : ''}${e.backgroundJobs && e.timescaledbVersion ? `, background jobs ${e.backgroundJobs}` : ''}`

type SummaryEnvironment = Pick<RunResult['environment'], 'broker' | 'database' | 'storage'> &
  Partial<Pick<RunResult['environment'], 'mqttVersion'>>
export function summaryText(
  r: Pick<RunResult, 'runId' | 'profile' | 'verdict' | 'properties'> & { environment: SummaryEnvironment } & Partial<
      Pick<RunResult, 'counts' | 'rates' | 'latency' | 'interrupted' | 'timingOnSaturatedHost' | 'host' | 'unfinished' | 'cpu'>
    >,
): string {
  const lines: string[] = []
  lines.push(
    `iotbench ${r.runId} — profile ${r.profile} — ${verdictLabel(r.verdict)}${r.timingOnSaturatedHost ? ' (timing only, on a saturated host)' : ''}`,
  )
  if (r.interrupted) lines.push(`  interrupted: ${r.interrupted}`)
  if (r.timingOnSaturatedHost) lines.push(`  ${r.timingOnSaturatedHost}`)
  const mqtt = r.environment.mqttVersion === undefined ? '' : ` (MQTT ${r.environment.mqttVersion === 5 ? '5' : '3.1.1'})`
  lines.push(`  broker ${r.environment.broker}${mqtt}, database ${r.environment.database} [${r.environment.storage}]`)
  if (r.counts && r.rates) {
    const c = r.counts
    lines.push(
      `  ${c.devices} devices × ${c.perDevice} readings: offered ${c.offered}, published ${c.published}, acked ${c.acked}, ingested ${c.ingested}, dead letters ${c.deadLetters}`,
    )
    lines.push(`  ${achievedLine(r.rates)}`)
  }
  for (const u of r.unfinished ?? []) lines.push(`  unfinished at the deadline: ${u}`)
  if (r.latency) {
    const e = r.latency.endToEnd
    lines.push(
      `  end-to-end ms: p50 ${e.p50Ms}  p90 ${e.p90Ms}  p99 ${e.p99Ms}  p99.9 ${e.p999Ms}  max ${e.maxMs}   (broker hop p99 ${r.latency.brokerHop.p99Ms}, schedule lag p99 ${r.latency.scheduleLag.p99Ms})`,
    )
  }
  if (r.host) lines.push(`  host: ${hostLine(r.host, r.latency?.scheduleLag.p99Ms)}`)
  if (r.cpu)
    lines.push(
      r.cpu.load ? `  CPU during the load (per 100k readings): ${cpuLine(r.cpu.load)}` : `  CPU (per 100k readings): ${cpuLine(r.cpu)}`,
    )
  for (const p of r.properties) lines.push(`  ${propertyStatus(p).padEnd(4)} ${p.id} ${p.name}: ${p.summary}`)
  return lines.join('\n')
}

/** "offered 2000/s, achieved 2000/s (acknowledged by the broker) over 19.89 s; handed to the MQTT client 2000/s" */
export const achievedLine = (r: RunRates): string =>
  `offered ${r.offeredPerS}/s, achieved ${r.achievedPerS}/s (${achievedMeaning[r.achievedCounts]}) over ${r.loadSeconds} s${r.achievedCounts === 'published' ? '' : `; handed to the MQTT client ${r.publishedPerS}/s`}`
