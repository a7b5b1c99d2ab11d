import type pg from 'pg'
import type { RunConfig } from './config/options.js'
import { connect } from './db/connect.js'
import { errorMessage } from './errors.js'
import { openBroker, openDatabase, type Service } from './infra.js'
import { RunMetrics } from './metrics/run-metrics.js'
import { startRunCpu } from './metrics/run-cpu.js'
import { openLive } from './live/run-live.js'
import { RunFaults } from './faults/run-faults.js'
import type { Interrupt } from './interrupt.js'
import { isSharded } from './shard/plan.js'
import { epochClock } from './util/clock.js'
import { initHistograms } from './util/histogram.js'
import type { SimResult } from './sim/messages.js'
import { newRunId, type RunContext } from './run/context.js'
import { prepare } from './run/prepare.js'
import { abandonLoad, endLoad, runLoad, startLoad, startPipeline } from './run/load.js'
import { drain, settle } from './run/drain.js'
import { evidenceOf, judgeRun } from './run/judge.js'
import { publishRun, publishShard, type RunOutcome } from './run/publish.js'

export { newRunId, publicConfig } from './run/context.js'
export type { RunOutcome } from './run/publish.js'

/** The whole bench: infrastructure, migrations, ingest, simulators, drain, verification, result. */
export async function runBench(cfg: RunConfig, log: (line: string) => void, interrupt?: Interrupt): Promise<RunOutcome> {
  await initHistograms()
  const runId = cfg.runId ?? newRunId(cfg.profile)
  const services: Service[] = []
  const metrics = new RunMetrics()
  const stopServices = async (): Promise<void> => {
    for (const s of services.splice(0).reverse())
      await s.stop().catch((err: unknown) => log(`stopping a service failed: ${errorMessage(err)}`))
  }
  // A second Ctrl-C exits at once, but still removes the run's broker sessions and stops embedded services.
  const unregister = interrupt?.onHardStop(stopServices)
  try {
    if (cfg.metricsPort !== undefined) log(`metrics: ${await metrics.serve(cfg.metricsHost, cfg.metricsPort)}`)
    services.push({ url: '', description: 'metrics', stop: () => metrics.close(cfg.metricsLingerSeconds) })
    const database = await openDatabase(cfg, log)
    services.push(database)
    const broker = await openBroker(cfg, log, metrics)
    services.push(broker)
    const cpu = await startRunCpu(cfg, database.url)
    services.push({ url: '', description: 'CPU meter', stop: () => cpu.close() })
    // An external ingest feeds no live feed (P9 is not applicable): the profile's live clients stay off.
    const live = await openLive(cfg.slices.live, log, metrics)
    if (live) services.push({ url: live.url, description: 'live feed', stop: () => live.stop() })
    const faults = await RunFaults.open(cfg.slices.faults, broker, database, log)
    services.push({ url: '', description: 'fault proxies', stop: () => faults.close() })
    const admin = await connect(database.url, cfg.dbSchema, 'iotbench-main')
    try {
      return await runWith(
        { cfg, runId, log, metrics, database, broker, faults, live, interrupt, clock: epochClock, cpu: cpu.meter },
        admin,
      )
    } finally {
      await admin.end().catch(() => undefined)
    }
  } finally {
    await stopServices()
    unregister?.()
  }
}

/** A run as its phases: prepare, load, drain, judge, publish (src/run/, one module each). */
async function runWith(ctx: RunContext, admin: pg.Client): Promise<RunOutcome> {
  const prep = await prepare(ctx, admin)
  const pipeline = await startPipeline(ctx, prep)
  const load = startLoad(ctx, prep, pipeline)
  let sims: SimResult[]
  try {
    sims = await runLoad(ctx, prep, pipeline, load, admin)
    await drain(ctx, pipeline, load, sims)
    ctx.cpu?.mark('drained')
  } catch (err) {
    await abandonLoad(pipeline, load)
    throw err
  } finally {
    await endLoad(load)
  }
  const drained = await settle(ctx, prep, pipeline, load, sims, admin)
  const evidence = evidenceOf(ctx, prep, load, sims, drained)
  if (isSharded(prep.plan)) return publishShard(ctx, prep, pipeline, sims, load, drained, evidence)
  const judged = await judgeRun(ctx, prep, pipeline, load, sims, drained, evidence)
  await ctx.cpu?.settle()
  return publishRun(ctx, prep, pipeline, load, sims, drained, evidence, judged)
}
