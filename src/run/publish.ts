import { join } from 'node:path'
import { deviceReport } from '../faults/run-faults.js'
import { deadLetterReasonsOf, runCounts } from '../report/counts.js'
import { latencyDistribution } from '../report/distribution.js'
import { publish, RUN_OUTPUTS } from '../report/outputs.js'
import { RESULT_SCHEMA_VERSION, runRates, type RunResult } from '../report/result.js'
import { finishShard } from '../shard/agent.js'
import type { SimResult } from '../sim/messages.js'
import { publicConfig, type RunContext } from './context.js'
import type { Drained } from './drain.js'
import type { RunEvidence, RunJudgement } from './judge.js'
import type { Load, Pipeline } from './load.js'
import type { Prepared } from './prepare.js'

/** A verified run, or (`pending`) one agent's share of a sharded run, verified later by `iotbench merge`. */
export type RunOutcome =
  | { readonly pending?: undefined; readonly result: RunResult; readonly resultFile: string; readonly summary: string }
  | { readonly pending: true; readonly resultFile: string; readonly summary: string }

const storedConfig = (ctx: RunContext, prep: Prepared): Record<string, unknown> => ({
  ...publicConfig(ctx.cfg),
  simStartMs: prep.simStartMs,
  perDevice: prep.perDevice,
})

/** Publish (a shard agent): its evidence for `iotbench merge`, no verdict (the merge regenerates the oracle digests). */
export async function publishShard(
  ctx: RunContext,
  prep: Prepared,
  pipeline: Pipeline,
  sims: SimResult[],
  load: Load,
  drained: Drained,
  evidence: RunEvidence,
): Promise<RunOutcome> {
  await load.digests.stop()
  const { cfg, runId, metrics } = ctx
  return finishShard({
    cfg: cfg.slices.shard,
    runId,
    dbRunId: prep.dbRunId,
    plan: prep.plan,
    startedAt: prep.startedAt,
    t0Ms: load.monitor.t0Ms,
    simStartMs: prep.simStartMs,
    perDevice: prep.perDevice,
    sims,
    ingestDone: drained.ingestDone,
    totals: pipeline.ingest.totals(),
    manifest: evidence.manifest,
    rates: evidence.rates,
    histograms: evidence.histograms,
    countsByKind: metrics.results(cfg.load).countsByKind,
    environment: { ...prep.environment, mqttVersion: pipeline.ingest.mqttVersion },
    config: storedConfig(ctx, prep),
  })
}

/** Publish: result.json, the reports, junit.xml and the summary, through the outputs run, merge and verify share (src/report/outputs.ts). */
export function publishRun(
  ctx: RunContext,
  prep: Prepared,
  pipeline: Pipeline,
  load: Load,
  sims: readonly SimResult[],
  drained: Drained,
  evidence: RunEvidence,
  judged: RunJudgement,
): RunOutcome {
  const { cfg, runId, metrics } = ctx
  const { devices } = prep
  const { perDevice } = evidence
  const totals = pipeline.ingest.totals()
  const result: RunResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId,
    dbRunId: prep.dbRunId,
    profile: cfg.profile,
    seed: cfg.seed,
    startedAt: prep.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    verdict: judged.verdict,
    ...(judged.interrupted && { interrupted: judged.interrupted }),
    ...(judged.saturated && { timingOnSaturatedHost: judged.saturated.summary }),
    host: judged.host,
    config: storedConfig(ctx, prep),
    environment: { ...prep.environment, mqttVersion: pipeline.ingest.mqttVersion },
    counts: runCounts(devices, perDevice, drained.published, sims, totals),
    rates: runRates(
      cfg.rate,
      cfg.qos,
      { published: drained.published, acked: sims.reduce((n, s) => n + s.acked, 0) },
      Math.min(...sims.map((s) => s.firstSendMs)),
      Math.max(...sims.map((s) => s.lastSendMs)),
      Math.max(...sims.map((s) => s.lastAckMs)),
    ),
    ...(load.unfinished.length > 0 && { unfinished: load.unfinished }),
    latency: judged.latency,
    deadLetterReasons: deadLetterReasonsOf(drained.ingestDone),
    properties: judged.properties,
    ...metrics.results(cfg.load),
    timeline: judged.timeline,
    latencyDistribution: latencyDistribution(evidence.histograms),
    ...(judged.drift && { drift: judged.drift }),
    ...(pipeline.ingest.evidence && { transport: pipeline.ingest.evidence() }),
    ...(judged.faults && { faults: judged.faults }),
    devices: deviceReport(cfg.slices.sim.thread, sims),
    stages: drained.stages,
    ...(ctx.cpu && { cpu: ctx.cpu.report(totals.committedRows) }),
  }
  const made = publish(
    { kind: 'run', result, seconds: Math.round((Date.now() - prep.startedAt.getTime()) / 1000) },
    join(cfg.resultsDir, runId),
    RUN_OUTPUTS,
  )
  return { result, resultFile: made.result, summary: made.summary }
}
