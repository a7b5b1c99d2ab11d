import type { FaultReport } from '../faults/analysis.js'
import type { HostLoad } from '../metrics/host.js'
import { withFaults } from '../faults/run-faults.js'
import { storedLive } from '../live/run-live.js'
import type { RunTimeline } from '../report/timeline.js'
import { driftResults, type Drift } from '../report/soak.js'
import type { SimResult } from '../sim/messages.js'
import { dueSeconds } from '../sim/schedule.js'
import { judge, type Judgement } from '../verify/judge.js'
import type { RateRecord } from '../verify/rates.js'
import { sloOf } from '../verify/slo.js'
import type { RunManifest } from '../verify/types.js'
import type { RunContext } from './context.js'
import type { Drained } from './drain.js'
import type { Load, Pipeline } from './load.js'
import { markNotApplicable } from '../verify/status.js'
import type { Prepared } from './prepare.js'

/** What the run is judged on: the oracle's manifest, P6's rate record and the latency histograms, encoded. */
export interface RunEvidence {
  readonly manifest: RunManifest
  readonly rates: RateRecord
  readonly histograms: { endToEnd: string[]; brokerHop: string[]; scheduleLag: string[]; publishAck: string[] }
  /** The planned readings per device, or fewer when an interrupt cut the load. */
  readonly perDevice: number
}

export function evidenceOf(ctx: RunContext, prep: Prepared, load: Load, sims: readonly SimResult[], drained: Drained): RunEvidence {
  const { cfg } = ctx
  const { plan, devices } = prep
  const perDevice = drained.shortened?.perDevice ?? prep.perDevice
  const judgedBadInput = load.badInput.slice(0, load.injected)
  const manifest: RunManifest = {
    seed: cfg.seed,
    simStartMs: prep.simStartMs,
    fleet: prep.fleet,
    perDevice,
    unacked: sims.flatMap((s) => s.unacked),
    published: drained.published,
    ...load.sim.manifest,
    ...(judgedBadInput.length > 0 && { badInput: judgedBadInput }),
  }
  const shardDevices = plan.devices[1] - plan.devices[0]
  const spikes = load.schedule.spikes
  const rates: RateRecord = {
    rate: cfg.rate * (shardDevices / devices),
    spikes,
    offered: shardDevices * perDevice,
    plannedSeconds: dueSeconds(cfg.rate, devices * perDevice, spikes),
    samples: load.monitor.rateSamples,
  }
  const histograms = {
    endToEnd: drained.ingestDone.map((d) => d.endToEnd),
    brokerHop: drained.ingestDone.map((d) => d.brokerHop),
    scheduleLag: sims.map((s) => s.scheduleLag),
    publishAck: sims.map((s) => s.ackLatency),
  }
  return { manifest, rates, histograms, perDevice }
}

export interface RunJudgement extends Judgement<RunEvidence['histograms']> {
  readonly timeline: RunTimeline
  readonly faults: FaultReport | undefined
  readonly drift: Drift | undefined
  readonly host: HostLoad
}

/** Judge: the fault windows and soak drift measured, then the one judge (src/verify/judge.ts) over the run's evidence, stored with the run. */
export async function judgeRun(
  ctx: RunContext,
  prep: Prepared,
  pipeline: Pipeline,
  load: Load,
  sims: readonly SimResult[],
  drained: Drained,
  evidence: RunEvidence,
): Promise<RunJudgement> {
  const { cfg, metrics, log, faults } = ctx
  const { admin, shortened, liveEvidence } = drained
  const { manifest, rates, histograms } = evidence
  log('verifying')
  metrics.setPhase('verify')
  const measured = metrics.results(cfg.load).timeline
  const soak = driftResults(cfg, load.monitor.memory.all(), measured.points)
  const faultReport = await faults.analyse(admin, prep.dbRunId, load.schedule, manifest, sims, measured, load.monitor.runStart)
  const host = load.monitor.host.summary()
  const notApplicable = pipeline.ingest.notApplicable?.()
  const judgement = await judge({
    client: admin,
    dbRunId: prep.dbRunId,
    manifest,
    histograms,
    slo: sloOf(cfg),
    rates,
    evidence: { manifest, histograms, ...(liveEvidence && { live: storedLive(liveEvidence) }), ...(notApplicable && { notApplicable }) },
    verify: {
      ...(!shortened && { pendingDigests: load.digests }),
      dashboardsDir: cfg.dashboards,
      ...(liveEvidence && { live: liveEvidence }),
      ...(cfg.sloMaxRssGrowthPct !== undefined && {
        soak: { drift: soak.drift, maxRssGrowthPct: cfg.sloMaxRssGrowthPct, warmupSeconds: cfg.driftWarmupSeconds },
      }),
    },
    // The fault windows' loss goes into P1's evidence (and the windows onto the timeline).
    // What an external ingest gave no data for is not applicable (src/external/).
    amend: (properties) => withFaults(measured, markNotApplicable(properties, notApplicable ?? {}), faultReport).properties,
    ...(shortened && { interrupted: shortened.note }),
    host,
    record: true,
  })
  metrics.setProperties(judgement.properties)
  metrics.setPhase('done')
  return { ...judgement, timeline: withFaults(measured, [], faultReport).timeline, faults: faultReport, drift: soak.drift, host }
}
