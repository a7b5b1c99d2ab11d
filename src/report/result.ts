import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LatencySummary } from '../util/histogram.js'
import type { PropertyResult } from '../verify/types.js'
import type { Drift } from './soak.js'
import type { StageTimes } from '../max/stages.js'
import type { CountsByKind, LatencyDistribution, RunTimeline } from './timeline.js'
import type { FaultReport } from '../faults/analysis.js'
import type { DeviceReport } from '../faults/run-faults.js'
import { hostLine, type HostLoad } from '../metrics/host.js'

export type Verdict = 'pass' | 'fail' | 'interrupted'

/** The verdict as the summary's first line, the reports and the JUnit suite name it. */
export const verdictLabel = (v: Verdict): string => ({ pass: 'PASS', fail: 'FAIL', interrupted: 'INTERRUPTED' })[v]

/** bench-results/<run>/result.json. Bump RESULT_SCHEMA_VERSION on any incompatible change. */
export const RESULT_SCHEMA_VERSION = 1

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
  readonly rates: { readonly offeredPerS: number; readonly achievedSendPerS: number; readonly loadSeconds: number }
  readonly latency: { readonly endToEnd: LatencySummary; readonly brokerHop: LatencySummary; readonly scheduleLag: LatencySummary; readonly publishAck: LatencySummary }
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
}

/** result.json's `rates`: the offered rate and what the simulators sent over the load's span. */
export const achievedRates = (offeredPerS: number, published: number, loadSeconds: number): RunResult['rates'] => ({
  offeredPerS,
  achievedSendPerS: loadSeconds > 0 ? Math.round(published / loadSeconds) : published,
  loadSeconds: Math.round(loadSeconds * 100) / 100,
})

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

type SummaryEnvironment = Pick<RunResult['environment'], 'broker' | 'database' | 'storage'> & Partial<Pick<RunResult['environment'], 'mqttVersion'>>
export function summaryText(
  r: Pick<RunResult, 'runId' | 'profile' | 'verdict' | 'properties'> & { environment: SummaryEnvironment } & Partial<Pick<RunResult, 'counts' | 'rates' | 'latency' | 'interrupted' | 'timingOnSaturatedHost' | 'host'>>,
): string {
  const lines: string[] = []
  lines.push(`iotbench ${r.runId} — profile ${r.profile} — ${verdictLabel(r.verdict)}${r.timingOnSaturatedHost ? ' (timing only, on a saturated host)' : ''}`)
  if (r.interrupted) lines.push(`  interrupted: ${r.interrupted}`)
  if (r.timingOnSaturatedHost) lines.push(`  ${r.timingOnSaturatedHost}`)
  const mqtt = r.environment.mqttVersion === undefined ? '' : ` (MQTT ${r.environment.mqttVersion === 5 ? '5' : '3.1.1'})`
  lines.push(`  broker ${r.environment.broker}${mqtt}, database ${r.environment.database} [${r.environment.storage}]`)
  if (r.counts && r.rates) {
    const c = r.counts
    lines.push(`  ${c.devices} devices × ${c.perDevice} readings: offered ${c.offered}, published ${c.published}, acked ${c.acked}, ingested ${c.ingested}, dead letters ${c.deadLetters}`)
    lines.push(`  offered ${r.rates.offeredPerS}/s, achieved ${r.rates.achievedSendPerS}/s over ${r.rates.loadSeconds} s`)
  }
  if (r.latency) {
    const e = r.latency.endToEnd
    lines.push(`  end-to-end ms: p50 ${e.p50Ms}  p90 ${e.p90Ms}  p99 ${e.p99Ms}  p99.9 ${e.p999Ms}  max ${e.maxMs}   (broker hop p99 ${r.latency.brokerHop.p99Ms}, schedule lag p99 ${r.latency.scheduleLag.p99Ms})`)
  }
  if (r.host) lines.push(`  host: ${hostLine(r.host, r.latency?.scheduleLag.p99Ms)}`)
  for (const p of r.properties) lines.push(`  ${p.pass ? 'ok  ' : 'FAIL'} ${p.id} ${p.name}: ${p.summary}`)
  return lines.join('\n')
}
