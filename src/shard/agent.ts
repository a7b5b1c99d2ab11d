import type { ShardSlice } from '../config/slices.js'
import type { FromIngest } from '../ingest/messages.js'
import { deadLetterReasonsOf, runCounts } from '../report/counts.js'
import type { RunResult } from '../report/result.js'
import type { CountsByKind } from '../report/timeline.js'
import type { SimResult } from '../sim/messages.js'
import { summarizeEncoded } from '../util/histogram.js'
import type { RateRecord } from '../verify/rates.js'
import type { RunManifest } from '../verify/types.js'
import type { ShardPlan } from './plan.js'
import { writeShardResult, type ShardResult } from './result.js'

type Done = Extract<FromIngest, { kind: 'done' }>

export interface ShardEnd {
  readonly cfg: ShardSlice
  readonly runId: string
  readonly dbRunId: number
  readonly plan: ShardPlan
  readonly startedAt: Date
  readonly t0Ms: number
  readonly simStartMs: number
  readonly perDevice: number
  readonly sims: readonly SimResult[]
  readonly ingestDone: readonly Done[]
  readonly totals: {
    readonly received: number
    readonly committedRows: number
    readonly deadLetters: number
    readonly batches: number
    readonly retries: number
    readonly duplicatesSkipped: number
  }
  readonly manifest: RunManifest
  readonly rates: RateRecord
  readonly histograms: ShardResult['histograms']
  readonly countsByKind: CountsByKind
  readonly environment: RunResult['environment']
  readonly config: Readonly<Record<string, unknown>>
}

/**
 * The end of one agent's part of a sharded run: its evidence goes to <results-dir>/<run>.shard-IofN/shard.json
 * for `iotbench merge`. No verdict here: the fleet is verified once, as a whole, by the merge.
 */
export function finishShard(e: ShardEnd): { readonly pending: true; readonly resultFile: string; readonly summary: string } {
  const devices = e.plan.devices[1] - e.plan.devices[0]
  const counts = runCounts(devices, e.perDevice, e.manifest.published, e.sims, e.totals)
  const shard: ShardResult = {
    kind: 'iotbench-shard',
    schemaVersion: 1,
    runId: e.runId,
    dbRunId: e.dbRunId,
    shard: e.plan,
    profile: e.cfg.profile,
    seed: e.cfg.seed,
    startedAt: e.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    t0Ms: e.t0Ms,
    config: e.config,
    environment: e.environment,
    counts,
    firstSendMs: Math.min(...e.sims.map((s) => s.firstSendMs)),
    lastSendMs: Math.max(...e.sims.map((s) => s.lastSendMs)),
    lastAckMs: Math.max(...e.sims.map((s) => s.lastAckMs)),
    manifest: e.manifest,
    rates: e.rates,
    histograms: e.histograms,
    deadLetterReasons: deadLetterReasonsOf(e.ingestDone),
    countsByKind: e.countsByKind,
  }
  const file = writeShardResult(e.cfg.resultsDir, shard)
  const e2e = summarizeEncoded(e.histograms.endToEnd)
  const summary = [
    `iotbench ${e.runId} — shard ${e.plan.index + 1}/${e.plan.count} — done, not verified (the verdict is the merge's)`,
    `  farms ${e.plan.farms[0] + 1}–${e.plan.farms[1]}: ${devices} devices × ${e.perDevice} readings: offered ${counts.offered}, published ${counts.published}, acked ${counts.acked}, ingested ${counts.ingested}, dead letters ${counts.deadLetters}`,
    `  end-to-end ms (this shard): p50 ${e2e.p50Ms}  p99 ${e2e.p99Ms}  max ${e2e.maxMs}`,
    `  next: iotbench merge <the shard folders of all ${e.plan.count} agents> --database-url … (this one: ${file.replace(/\/shard\.json$/, '')})`,
  ].join('\n')
  return { pending: true, resultFile: file, summary }
}
