import type pg from 'pg'
import type { Done } from '../ingest/pool.js'
import type { LiveEvidence } from '../live/run-live.js'
import { stageTimes, type StageTimes } from '../max/stages.js'
import { shortenRun, type Shortened } from '../run-interrupt.js'
import { isSharded } from '../shard/plan.js'
import type { SimResult } from '../sim/messages.js'
import { join } from 'node:path'
import type { RunContext } from './context.js'
import type { Load, Pipeline } from './load.js'
import type { Prepared } from './prepare.js'

/** Drain: waits (up to --drain-timeout) until the ingest has everything the simulators published. */
export async function drain(
  { clock, log, faults }: RunContext,
  { ingest }: Pipeline,
  load: Load,
  sims: readonly SimResult[],
): Promise<void> {
  load.monitor.drain()
  const published = sims.reduce((n, s) => n + s.published, 0)
  const deadline = load.deadlineMs()
  // Kafka: everything stored (ingest_batches); faults: everything committed; else received ≥ published.
  const badInput = ingest.caughtUp ? await load.injecting : 0
  const caughtUp = async (): Promise<boolean> =>
    ingest.caughtUp ? ingest.caughtUp(published, badInput) : faults.drained(ingest.totals(), published)
  while (!(await caughtUp()) && clock() < deadline) {
    await Promise.race([new Promise((r) => setTimeout(r, 50)), ingest.failed])
  }
  if (!(await caughtUp())) {
    const t = ingest.totals()
    load.unfinished.push(`ingest: received ${t.received} and committed ${t.committedRows} of ${published} published readings`)
    log(`drain timeout: the ingest received ${t.received} of ${published} published readings`)
  }
}

/** The run's end as the judge reads it. */
export interface Drained {
  /** The main thread's client, reconnected if a database fault broke it. */
  readonly admin: pg.Client
  readonly ingestDone: Done[]
  readonly stages: StageTimes
  readonly liveEvidence: LiveEvidence | undefined
  readonly published: number
  /** Set when an interrupt cut the load: the readings per device the run is judged on. */
  readonly shortened: Shortened | undefined
}

/** After the drain: faults healed, the ingest's last batches flushed, the live clients' evidence collected, an interrupted run cut. */
export async function settle(
  ctx: RunContext,
  prep: Prepared,
  pipeline: Pipeline,
  load: Load,
  sims: readonly SimResult[],
  admin: pg.Client,
): Promise<Drained> {
  const { cfg, faults, live, clock, interrupt, log } = ctx
  const { monitor } = load
  monitor.sampleRates()
  await faults.settle(cfg.drainTimeoutSeconds * 1000)
  const healthy = await faults.healthyAdmin(admin, cfg.dbSchema)
  // Stopping flushes the last batches: up to the deadline, and never less than 10 s.
  const stopWithin = Math.max(10_000, Math.min(load.deadlineMs(), clock() + cfg.drainTimeoutSeconds * 1000) - clock())
  const ingestDone = await pipeline.ingest.stop(stopWithin)
  if (ingestDone.length < pipeline.workers.length && cfg.transport !== 'kafka')
    load.unfinished.push(
      `ingest: ${pipeline.workers.length - ingestDone.length} of ${pipeline.workers.length} workers did not stop within ${Math.round(stopWithin / 1000)} s (terminated; their latency is missing)`,
    )
  pipeline.unregister?.()
  monitor.sampleRates() // stopping flushed the last batches: their commits belong in the timeline too
  const stages = stageTimes(ctx.metrics.hub, pipeline.workers.length, (clock() - monitor.t0Ms) / 1000)
  const liveEvidence = await live?.finish(join(cfg.resultsDir, ctx.runId))
  monitor.finish()
  const published = sims.reduce((n, s) => n + s.published, 0)
  const shortened =
    interrupt?.interrupted && !isSharded(prep.plan)
      ? await shortenRun(healthy, prep.dbRunId, interrupt, prep.perDevice, load.cutPerDevice, load.digests, log)
      : undefined
  return { admin: healthy, ingestDone, stages, liveEvidence, published, shortened }
}
