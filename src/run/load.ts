import { farmFilter } from '../fleet.js'
import type { IngestWorkerData } from '../ingest/messages.js'
import { startIngest, type IngestPool } from '../ingest/pool.js'
import type { LiveRun } from '../live/run-live.js'
import { cutAt, stopOf } from '../run-interrupt.js'
import { shardBarrier } from '../shard/barrier.js'
import { isSharded } from '../shard/plan.js'
import { badInputs, type BadMessage } from '../sim/bad-input.js'
import { injectBadInput } from '../sim/bad-input-publisher.js'
import type { SimResult } from '../sim/messages.js'
import { runSimulators } from '../sim/pool.js'
import { simulationOf, type SimSetup } from '../sim/setup.js'
import { startKafkaIngest } from '../transport/kafka/run-kafka.js'
import { openExternalIngest } from '../external/run-external.js'
import { dueSeconds } from '../sim/schedule.js'
import { splitRange } from '../util/shares.js'
import { computeDigests, type PendingDigests } from '../verify/oracle-digests.js'
import type pg from 'pg'
import type { RunContext } from './context.js'
import { RunMonitor } from './monitor.js'
import type { Prepared } from './prepare.js'
import { must } from '../util/must.js'

/** The ingest side of the run: its workers subscribed (or the Kafka consumer group joined). */
export interface Pipeline {
  readonly ingest: IngestPool
  readonly workers: readonly IngestWorkerData[]
  /** Forgets the hard-stop hook once the ingest has stopped. */
  readonly unregister: (() => void) | undefined
}

/** Starts the ingest workers, one share of the (agent's) farms each; the broker sessions they leave are removed when the run ends. */
export async function startPipeline(ctx: RunContext, prep: Prepared): Promise<Pipeline> {
  const { cfg, runId, log, metrics, broker, faults, live, interrupt } = ctx
  const { farms, clientBase } = prep
  const workers: IngestWorkerData[] = splitRange(farms.length, Math.min(cfg.ingestWorkers, farms.length)).map(([from, to], worker) => ({
    worker,
    runId: prep.dbRunId,
    mqttUrl: faults.ingestBrokerUrl,
    mqttSecurity: broker.security,
    ...cfg.slices.ingest,
    clientId: `${clientBase}-ingest-${worker}`,
    filters: farms.slice(from, to).map((f) => farmFilter(cfg.topicPrefix, f)),
    databaseUrl: faults.ingestDatabaseUrl,
    faultHook: worker === 0 ? cfg.faultHook : undefined,
    live: live !== undefined,
  }))
  // Persistent sessions (ingest; simulators at QoS 1; the Kafka bridge) are removed from the broker when the run ends, however it ends.
  for (const id of [
    ...workers.map((d) => d.clientId),
    ...(cfg.qos > 0 ? Array.from({ length: cfg.simWorkers }, (_, w) => `${clientBase}-sim-${w}`) : []),
    `iotbench-${runId}-bridge`,
  ])
    broker.sessions.add(id)
  metrics.setRunInfo(runId, cfg.profile, broker.description, prep.storage)
  metrics.declareAlertRules([...new Set(Object.values(workers[0]?.alertRules ?? {}).flatMap((rules) => rules.map((r) => r.name)))])
  const onLive =
    live &&
    ((m: { readings: Parameters<LiveRun['publish']>[0]; alerts: Parameters<LiveRun['publish']>[1] }): void =>
      live.publish(m.readings, m.alerts))
  const ingest =
    cfg.ingest === 'external'
      ? await openExternalIngest(
          cfg.slices.external,
          { runId, dbRunId: prep.dbRunId, simStartMs: prep.simStartMs },
          ctx.database,
          broker,
          log,
        )
      : cfg.transport === 'kafka'
        ? await startKafkaIngest(
            {
              kafkaUrl: must(cfg.kafkaUrl, '--transport kafka comes with --kafka-url (config/resolve.ts)'),
              partitions: cfg.kafkaPartitions,
              kafkajsLog: cfg.kafkajsLog,
              consumers: cfg.ingestWorkers,
              runName: runId,
              mqttUrl: broker.url,
              base: workers[0],
            },
            log,
            metrics,
            onLive,
          )
        : await startIngest(workers, log, metrics, onLive)
  const abort = ingest.abort?.bind(ingest)
  const unregister = abort && interrupt?.onHardStop(() => abort())
  if (cfg.ingest === 'internal')
    log(
      `ingest ready: ${cfg.ingestWorkers} workers subscribed with MQTT ${ingest.mqttVersion === 5 ? '5' : '3.1.1'}, batches of ${cfg.batchRows} rows or ${cfg.batchMs} ms`,
    )
  return { ingest, workers, unregister }
}

/** The load under way: the simulators' schedule, the oracle being computed beside it, the bad input being injected. */
export interface Load {
  readonly monitor: RunMonitor
  readonly schedule: {
    t0Ms: number
    readonly rate: number
    readonly devices: number
    readonly perDevice: number
    readonly spikes: NonNullable<NonNullable<RunContext['cfg']['load']>['spikes']>
  }
  readonly sim: SimSetup
  /** The oracle's per-device digests, regenerated from the seed at a third of a core while the load runs. */
  readonly digests: PendingDigests
  /** P7: the malformed messages of this agent's farms, spread over the load, deterministic from the seed. */
  readonly badInput: readonly BadMessage[]
  /** Resolves with how many of `badInput` were sent. */
  readonly injecting: Promise<number>
  /** How many of `badInput` were sent (set by `endLoad`). */
  injected: number
  /** The readings per device an interrupt cut the load to (`perDevice` unless interrupted). */
  cutPerDevice: number
  /** What did not finish by the deadline, named in the verdict. */
  readonly unfinished: string[]
  /** One deadline for every wait (the simulators' too): the planned end of the load + the drain timeout. */
  readonly deadlineMs: () => number
}

/** Starts watching the run, computing the oracle and injecting bad input; the simulators start with `runLoad`. */
export function startLoad(ctx: RunContext, prep: Prepared, pipeline: Pipeline): Load {
  const { cfg, metrics, broker, log, interrupt } = ctx
  const sim = simulationOf(cfg.slices.sim, prep.simStartMs, prep.fleet, prep.devices)
  const digests = computeDigests(
    { ...sim.ctx, ...(sim.replay && { replay: sim.replay }), perDevice: prep.perDevice },
    { paced: true, metrics },
  )
  const monitor = new RunMonitor(ctx, pipeline.ingest)
  if (prep.startAtMs !== undefined) monitor.t0Ms = prep.startAtMs
  const badInput = badInputs(cfg.seed, prep.fleet, cfg.topicPrefix, cfg.badInput).filter((m) =>
    prep.farms.some((f) => m.topic.startsWith(`${cfg.topicPrefix}farm/${f}/`)),
  )
  const injecting = injectBadInput(
    broker.url,
    broker.security,
    `${prep.clientBase}-bad-input`,
    badInput,
    cfg.durationSeconds * 1000,
    log,
    interrupt?.signal,
  )
  const schedule = { t0Ms: monitor.t0Ms, rate: cfg.rate, devices: prep.devices, perDevice: prep.perDevice, spikes: cfg.load?.spikes ?? [] }
  const deadlineMs = (): number =>
    schedule.t0Ms + dueSeconds(cfg.rate, prep.devices * prep.perDevice, schedule.spikes) * 1000 + cfg.drainTimeoutSeconds * 1000
  return { monitor, schedule, sim, digests, badInput, injecting, injected: 0, cutPerDevice: prep.perDevice, unfinished: [], deadlineMs }
}

/** Load: the simulator threads publish this agent's devices on the open-loop schedule; resolves with their results. */
export async function runLoad(ctx: RunContext, prep: Prepared, pipeline: Pipeline, load: Load, admin: pg.Client): Promise<SimResult[]> {
  const { cfg, clock, faults, broker, database, log, interrupt } = ctx
  const { plan, startAtMs } = prep
  const { monitor, schedule } = load
  // The schedule starts when every simulator thread is connected (--start-at: at that time, the same for every agent).
  const startSchedule = async (): Promise<number> => {
    // A sharded run without --start-at waits for every agent in the database (src/shard/barrier.ts).
    const t0Ms = startAtMs ?? (isSharded(plan) ? await shardBarrier(admin, prep.dbRunId, plan, 120_000, log) : clock() + 50)
    if (t0Ms < clock())
      log(`--start-at ${cfg.startAt} has passed: the schedule is already ${Math.round(clock() - t0Ms)} ms late (schedule lag shows it)`)
    monitor.t0Ms = t0Ms
    schedule.t0Ms = t0Ms
    ctx.cpu?.mark('load')
    // The fault schedule counts from the load's start.
    faults.start(t0Ms, monitor.runStart, broker, database, pipeline.ingest, log, clock)
    return t0Ms
  }
  const shardDevices = plan.devices[1] - plan.devices[0]
  const tasks = splitRange(shardDevices, Math.min(cfg.simWorkers, shardDevices)).map(([from, to], worker) => ({
    worker,
    mqttUrl: faults.simBrokerUrl,
    mqttSecurity: broker.security,
    clientId: `${prep.clientBase}-sim-${worker}`,
    ...cfg.slices.sim.thread,
    ctx: load.sim.ctx,
    ...(load.sim.replay && { replay: load.sim.replay }),
    schedule,
    devices: [plan.devices[0] + from, plan.devices[0] + to] as const,
  }))
  const stop = stopOf(interrupt, plan, () => (load.cutPerDevice = cutAt(schedule, clock())))
  const sims = await Promise.race([
    runSimulators(tasks, (p) => (monitor.simProgress = p), log, ctx.metrics, startSchedule, stop),
    pipeline.ingest.failed,
  ])
  for (const s of sims) if (s.unfinished) load.unfinished.push(`simulator ${s.worker}: ${s.unfinished}`)
  return sims
}

/** The load and its drain are over, or failed: the tickers stop and the bad input's publisher is done. */
export async function endLoad(load: Load): Promise<void> {
  load.monitor.stopTicking()
  load.injected = await load.injecting
}

/** The load or its drain failed: the ingest and the oracle's threads stop before the error goes up. */
export async function abandonLoad({ ingest }: Pipeline, load: Load): Promise<void> {
  await ingest.stop().catch(() => undefined)
  await load.digests.stop()
}
