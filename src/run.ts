import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { join } from 'node:path'
import type pg from 'pg'
import type { RunConfig } from './config/options.js'
import { redactUrl } from './config/resolve.js'
import { connect } from './db/connect.js'
import { migrate, pgSession } from './db/migrate.js'
import { errorMessage } from './errors.js'
import { farmFilter, fleetSize, type FleetShape } from './fleet.js'
import { openBroker, openDatabase, type BrokerService, type Service } from './infra.js'
import type { IngestWorkerData } from './ingest/messages.js'
import { startIngest } from './ingest/pool.js'
import { RunMetrics } from './metrics/run-metrics.js'
import { latencyDistribution } from './report/distribution.js'
import { KINDS, KIND_NAMES } from './kinds.js'
import { createProgress } from './report/progress.js'
import { achievedRates, RESULT_SCHEMA_VERSION, type RunResult } from './report/result.js'
import { publish, RUN_OUTPUTS } from './report/outputs.js'
import type { SimResult } from './sim/messages.js'
import { runSimulators } from './sim/pool.js'
import { dueSeconds, readingsPerDevice } from './sim/schedule.js'
import { simulationOf } from './sim/setup.js'
import { maxClockSkewMs, sensorDayStart } from './sim/context.js'
import { defaultSensorModels } from './sim/models.js'
import { epochClock } from './util/clock.js'
import { initHistograms } from './util/histogram.js'
import { splitRange } from './util/shares.js'
import type { RunManifest } from './verify/types.js'
import { sloOf } from './verify/slo.js'
import { judge } from './verify/judge.js'
import { computeDigests } from './verify/oracle-digests.js'
import { alertRulesOf } from './alerts/rules.js'
import { badInputs } from './sim/bad-input.js'
import { injectBadInput } from './sim/bad-input-publisher.js'
import type { RateRecord, RateSample } from './verify/rates.js'
import { MemorySampler, driftResults } from './report/soak.js'
import { openLive, storedLive, type LiveRun } from './live/run-live.js'
import { startKafkaIngest } from './transport/kafka/run-kafka.js'
import { deviceReport, RunFaults, withFaults } from './faults/run-faults.js'
import { isSharded, parseStartAt, shardFarmIds, shardPlan } from './shard/plan.js'
import { finishShard } from './shard/agent.js'
import { stageTimes } from './max/stages.js'
import { shardBarrier } from './shard/barrier.js'
import type { Interrupt } from './interrupt.js'
import { HostSampler, systemProbes } from './metrics/host.js'
import { cutAt, shortenRun, stopOf } from './run-interrupt.js'

/** A verified run, or (`pending`) one agent's share of a sharded run, verified later by `iotbench merge`. */
export type RunOutcome =
  | { readonly pending?: undefined; readonly result: RunResult; readonly resultFile: string; readonly summary: string }
  | { readonly pending: true; readonly resultFile: string; readonly summary: string }


export const fleetOf = (c: RunConfig): FleetShape => ({ farms: c.farms, cowsPerFarm: c.cowsPerFarm, stallsPerFarm: c.stallsPerFarm, tanksPerFarm: c.tanksPerFarm })

export function newRunId(profile: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${stamp}-${profile}-${randomBytes(2).toString('hex')}`
}

/** The config as stored in result.json and the runs table: secrets redacted. */
export function publicConfig(c: RunConfig): Record<string, unknown> {
  return { ...c, mqttUrl: c.mqttUrl && redactUrl(c.mqttUrl), mqttPassword: c.mqttPassword && '***', databaseUrl: c.databaseUrl && redactUrl(c.databaseUrl) }
}

/** The whole bench: infrastructure, migrations, ingest, simulators, drain, verification, result. */
export async function runBench(cfg: RunConfig, log: (line: string) => void, interrupt?: Interrupt): Promise<RunOutcome> {
  await initHistograms()
  const runId = cfg.runId ?? newRunId(cfg.profile)
  const services: Service[] = []
  const metrics = new RunMetrics()
  const stopServices = async (): Promise<void> => {
    for (const s of services.splice(0).reverse()) await s.stop().catch((err: unknown) => log(`stopping a service failed: ${errorMessage(err)}`))
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
    const live = await openLive(cfg, log, metrics)
    if (live) services.push({ url: live.url, description: 'live feed', stop: () => live.stop() })
    const faults = await RunFaults.open(cfg, broker, database, log)
    services.push({ url: '', description: 'fault proxies', stop: () => faults.close() })
    const admin = await connect(database.url, cfg.dbSchema, 'iotbench-main')
    try {
      return await runWith(cfg, runId, admin, database, broker, log, metrics, faults, live, interrupt)
    } finally {
      await admin.end().catch(() => undefined)
    }
  } finally {
    await stopServices()
    unregister?.()
  }
}

async function runWith(cfg: RunConfig, runId: string, admin: pg.Client, database: Service, broker: BrokerService, log: (line: string) => void, metrics: RunMetrics, faults: RunFaults, live?: LiveRun, interrupt?: Interrupt): Promise<RunOutcome> {
  const clock = epochClock
  const startedAt = new Date()
  const { storage, applied, environment: server } = await migrate(pgSession(admin), cfg.dbSchema, { storage: cfg.storage })
  if (applied.length) log(`applied migrations: ${applied.join(', ')}`)
  if (storage === 'timescaledb') log(`TimescaleDB ${server.timescaledbVersion ?? '?'} on PostgreSQL ${server.serverVersion}; background jobs ${server.backgroundJobs}`)
  const environment: Omit<RunResult['environment'], 'mqttVersion'> = {
    node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, broker: broker.description, database: database.description, storage, ...server,
  }

  const fleet = fleetOf(cfg)
  const devices = fleetSize(fleet)
  // --shard i/n: this agent publishes and ingests an exact share of the farms (src/shard/plan.ts).
  const plan = shardPlan(fleet, cfg.shard)
  const startAtMs = cfg.startAt === undefined ? undefined : parseStartAt(cfg.startAt)
  const perDevice = readingsPerDevice(cfg.rate, cfg.durationSeconds, devices, cfg.load?.spikes)
  // Sensor time ends just before the run starts (src/sim/context.ts): every reading is in the past, as a
  // real farm's are, so the aggregates' refresh covers it. Stored with the run for the oracle.
  const anchorMs = startAtMs ?? startedAt.getTime()
  const simStartMs = sensorDayStart(anchorMs, cfg.startHour, perDevice, maxClockSkewMs(cfg.models ?? defaultSensorModels()))
  const simEndMs = anchorMs
  // Agents of a sharded run set up the same partitions and run row at once: one at a time.
  await admin.query('SELECT pg_advisory_lock(7707)')
  try {
    for (const k of KIND_NAMES) {
      await admin.query('SELECT iotbench_ensure_partitions($1, $2, $3)', [KINDS[k].table, new Date(simStartMs), new Date(simEndMs)])
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(7707)')
  }
  const inserted = await admin.query<{ id: number }>(
    // Every agent of a sharded run names the same run: the first creates it, the others join it.
    `INSERT INTO runs (name, profile, seed, config, storage, started_at) VALUES ($1, $2, $3, $4, $5, $6)${isSharded(plan) ? ' ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name' : ''} RETURNING id`,
    [runId, cfg.profile, cfg.seed, JSON.stringify({ ...publicConfig(cfg), simStartMs, perDevice }), storage, startedAt],
  )
  const dbRunId = inserted.rows[0]!.id
  log(`run ${runId} (#${dbRunId}): ${devices} devices × ${perDevice} readings at ${cfg.rate}/s, QoS ${cfg.qos}, storage ${storage}`)
  if (isSharded(plan)) log(`shard ${plan.index + 1}/${plan.count}: farms ${plan.farms[0] + 1}–${plan.farms[1]}, devices ${plan.devices[0]}–${plan.devices[1] - 1}`)

  const farms = shardFarmIds(fleet, plan)
  // MQTT client ids must differ between the agents of a run, or the broker would take one's session over for the other.
  const clientBase = isSharded(plan) ? `iotbench-${runId}-s${plan.index + 1}` : `iotbench-${runId}`
  const ingestData: IngestWorkerData[] = splitRange(farms.length, Math.min(cfg.ingestWorkers, farms.length)).map(([from, to], worker) => ({
    worker,
    runId: dbRunId,
    mqttUrl: faults.ingestBrokerUrl,
    mqttSecurity: broker.security,
    mqttProtocol: cfg.mqttProtocol,
    clientId: `${clientBase}-ingest-${worker}`,
    filters: farms.slice(from, to).map((f) => farmFilter(cfg.topicPrefix, f)),
    topicPrefix: cfg.topicPrefix,
    databaseUrl: faults.ingestDatabaseUrl,
    dbSchema: cfg.dbSchema,
    batchRows: cfg.batchRows,
    batchMs: cfg.batchMs,
    window: Math.min(60_000, Math.max(1_000, cfg.batchRows * 4)),
    faultHook: worker === 0 ? cfg.faultHook : undefined,
    alertRules: alertRulesOf(cfg.models),
    live: live !== undefined,
  }))
  // Persistent sessions (ingest; simulators at QoS 1; the Kafka bridge) are removed from the broker when the run ends, however it ends.
  for (const id of [...ingestData.map((d) => d.clientId), ...(cfg.qos > 0 ? Array.from({ length: cfg.simWorkers }, (_, w) => `${clientBase}-sim-${w}`) : []), `iotbench-${runId}-bridge`]) broker.sessions.add(id)
  metrics.setRunInfo(runId, cfg.profile, broker.description, storage)
  metrics.declareAlertRules([...new Set(Object.values(ingestData[0]?.alertRules ?? {}).flatMap((rules) => rules.map((r) => r.name)))])
  const onLive = live && ((m: { readings: Parameters<LiveRun['publish']>[0]; alerts: Parameters<LiveRun['publish']>[1] }): void => live.publish(m.readings, m.alerts))
  const ingest = cfg.transport === 'kafka'
    ? await startKafkaIngest({ kafkaUrl: cfg.kafkaUrl!, partitions: cfg.kafkaPartitions, consumers: cfg.ingestWorkers, runName: runId, mqttUrl: broker.url, base: ingestData[0]! }, log, metrics, onLive)
    : await startIngest(ingestData, log, metrics, onLive)
  const mqttVersion = ingest.mqttVersion
  const unregisterIngest = ingest.abort && interrupt?.onHardStop(() => ingest.abort!())
  log(`ingest ready: ${cfg.ingestWorkers} workers subscribed with MQTT ${mqttVersion === 5 ? '5' : '3.1.1'}, batches of ${cfg.batchRows} rows or ${cfg.batchMs} ms`)

  // The schedule starts when every simulator thread is connected (--start-at: at that time, the same for every agent).
  let t0Ms = startAtMs ?? Number.POSITIVE_INFINITY
  const startSchedule = async (): Promise<number> => {
    // A sharded run without --start-at waits for every agent in the database (src/shard/barrier.ts).
    t0Ms = startAtMs ?? (isSharded(plan) ? await shardBarrier(admin, dbRunId, plan, 120_000, log) : clock() + 50)
    if (t0Ms < clock()) log(`--start-at ${cfg.startAt} has passed: the schedule is already ${Math.round(clock() - t0Ms)} ms late (schedule lag shows it)`)
    schedule.t0Ms = t0Ms
    // The fault schedule counts from the load's start.
    faults.start(t0Ms, runStart, broker, database, ingest, log, clock)
    return t0Ms
  }
  const schedule = { t0Ms, rate: cfg.rate, devices, perDevice, spikes: cfg.load?.spikes ?? [] }
  const sim = simulationOf(cfg, simStartMs, fleet, devices)
  const ctx = sim.ctx
  // The oracle's per-device digests, regenerated from the seed at a third of a core while the load runs.
  const digests = computeDigests({ ...ctx, ...(sim.replay && { replay: sim.replay }), perDevice }, { paced: true, metrics })
  const progress = createProgress(cfg.progress)
  const runStart = clock()
  let simProgress = { sent: 0, acked: 0 }
  let phase = 'load'
  // The host during the run: a timing failure on a saturated machine is told apart from a pipeline's (src/verify/timing.ts).
  const host = new HostSampler(systemProbes(() => 1000 * Math.max(0, ...metrics.hub.gaugeValues('loopLag').map((g) => g.value))))
  const memory = new MemorySampler(() => process.memoryUsage.rss(), () => metrics.threadMemory())
  const snapshot = (): void => {
    const t = ingest.totals()
    // The live p99 comes from the threads' last-second histograms merged exactly (never a max or mean of p99s).
    const point = metrics.tick((clock() - runStart) / 1000)
    memory.sample(point.t, point.phase)
    host.sample()
    progress.update({ elapsedS: (clock() - runStart) / 1000, offeredPerS: cfg.rate, sent: simProgress.sent, acked: simProgress.acked, ingested: t.committedRows, deadLetters: t.deadLetters, p99Ms: point.p99Ms, phase })
  }
  metrics.setPhase('load')
  const ticker = setInterval(snapshot, 1000)
  // P6: achieved vs offered, one sample a second from the schedule's t0.
  const rateSamples: RateSample[] = []
  const sampleRates = (): void => void (clock() >= t0Ms && rateSamples.push({ t: (clock() - t0Ms) / 1000, sent: simProgress.sent, ingested: ingest.totals().committedRows }))
  const rateTicker = setInterval(sampleRates, 1000)
  // P7: malformed messages on the telemetry topics, spread over the load, deterministic from the seed.
  const badInput = badInputs(cfg.seed, fleet, cfg.topicPrefix, cfg.badInput).filter((m) => farms.some((f) => m.topic.startsWith(`${cfg.topicPrefix}farm/${f}/`)))
  const injecting = injectBadInput(broker.url, broker.security, `${clientBase}-bad-input`, badInput, cfg.durationSeconds * 1000, log, interrupt?.signal)
  let badInjected: number
  let cutPerDevice = perDevice
  let sims: SimResult[]
  try {
    const shardDevices = plan.devices[1] - plan.devices[0]
    const tasks = splitRange(shardDevices, Math.min(cfg.simWorkers, shardDevices)).map(([from, to], worker) => ({
      worker,
      mqttUrl: faults.simBrokerUrl,
      mqttSecurity: broker.security,
      clientId: `${clientBase}-sim-${worker}`,
      topicPrefix: cfg.topicPrefix,
      qos: cfg.qos,
      ctx,
      ...(sim.replay && { replay: sim.replay }),
      schedule,
      devices: [plan.devices[0] + from, plan.devices[0] + to] as const,
      drainTimeoutMs: cfg.drainTimeoutSeconds * 1000,
      deviceQueue: cfg.deviceQueue,
      deviceQueuePolicy: cfg.deviceQueuePolicy,
      connections: cfg.connections,
      sourceAddresses: cfg.sourceAddresses,
    }))
    sims = await Promise.race([runSimulators(tasks, (p) => (simProgress = p), log, metrics, startSchedule, stopOf(interrupt, plan, () => (cutPerDevice = cutAt(schedule, clock())))), ingest.failed])
    phase = 'drain'
    metrics.setPhase('drain')
    const published = sims.reduce((n, s) => n + s.published, 0)
    const deadline = clock() + cfg.drainTimeoutSeconds * 1000
    // Kafka: everything stored (ingest_batches); faults: everything committed; else received ≥ published.
    const caughtUp = async (): Promise<boolean> => (ingest.caughtUp ? ingest.caughtUp(published) : faults.drained(ingest.totals(), published))
    while (!(await caughtUp()) && clock() < deadline) {
      await Promise.race([new Promise((r) => setTimeout(r, 50)), ingest.failed])
    }
    if (!(await caughtUp())) log(`drain timeout: the ingest received ${ingest.totals().received} of ${published} published readings`)
  } catch (err) {
    await ingest.stop().catch(() => undefined)
    await digests.stop()
    throw err
  } finally {
    clearInterval(ticker)
    clearInterval(rateTicker)
    badInjected = await injecting
  }
  sampleRates()
  await faults.settle(cfg.drainTimeoutSeconds * 1000)
  admin = await faults.healthyAdmin(admin, cfg.dbSchema)
  const ingestDone = await ingest.stop()
  unregisterIngest?.()
  sampleRates() // stopping flushed the last batches: their commits belong in the timeline too
  const stages = stageTimes(metrics.hub, ingestData.length, (clock() - t0Ms) / 1000)
  const liveEvidence = await live?.finish(join(cfg.resultsDir, runId))
  snapshot()
  progress.done()
  const loadSeconds = Math.max(...sims.map((s) => s.lastSendMs)) / 1000 - Math.min(...sims.map((s) => s.firstSendMs)) / 1000

  const published = sims.reduce((n, s) => n + s.published, 0)
  const shortened = interrupt?.interrupted && !isSharded(plan) ? await shortenRun(admin, dbRunId, interrupt, perDevice, cutPerDevice, digests, log) : undefined
  // What the run is judged on: the planned readings per device, or fewer when an interrupt cut the load.
  const judged = shortened?.perDevice ?? perDevice
  const judgedBadInput = badInput.slice(0, badInjected)
  const manifest: RunManifest = { seed: cfg.seed, simStartMs, fleet, perDevice: judged, unacked: sims.flatMap((s) => s.unacked), published, ...sim.manifest, ...(judgedBadInput.length > 0 && { badInput: judgedBadInput }) }
  const share = (plan.devices[1] - plan.devices[0]) / devices
  const rates: RateRecord = { rate: cfg.rate * share, spikes: schedule.spikes, offered: (plan.devices[1] - plan.devices[0]) * judged, plannedSeconds: dueSeconds(cfg.rate, devices * judged, schedule.spikes), samples: rateSamples }
  const histograms = {
    endToEnd: ingestDone.map((d) => d.endToEnd),
    brokerHop: ingestDone.map((d) => d.brokerHop),
    scheduleLag: sims.map((s) => s.scheduleLag),
    publishAck: sims.map((s) => s.ackLatency),
  }
  if (isSharded(plan)) {
    // A shard agent does not verify (iotbench merge does, regenerating the oracle digests then).
    await digests.stop()
    const totals = ingest.totals()
    return finishShard({ cfg, runId, dbRunId, plan, startedAt, t0Ms, simStartMs, perDevice, sims, ingestDone, totals, manifest, rates, histograms, countsByKind: metrics.results(cfg.load).countsByKind,
      environment: { ...environment, mqttVersion }, config: { ...publicConfig(cfg), simStartMs, perDevice } })
  }
  log('verifying')
  metrics.setPhase('verify')
  const soak = driftResults(cfg, memory.all(), metrics.results(cfg.load).timeline.points)
  const faultReport = await faults.analyse(admin, dbRunId, schedule, manifest, sims, metrics.results(cfg.load).timeline, runStart)
  // The fault windows go on the timeline, their loss into P1's evidence.
  const { timeline } = withFaults(metrics.results(cfg.load).timeline, [], faultReport)
  const hostLoad = host.summary()
  const judgement = await judge({
    client: admin, dbRunId, manifest, histograms, slo: sloOf(cfg as unknown as Record<string, unknown>), rates,
    evidence: { manifest, histograms, ...(liveEvidence && { live: storedLive(liveEvidence) }) },
    verify: {
      ...(!shortened && { pendingDigests: digests }), dashboardsDir: cfg.dashboards, ...(liveEvidence && { live: liveEvidence }),
      ...(cfg.sloMaxRssGrowthPct !== undefined && { soak: { drift: soak.drift, maxRssGrowthPct: cfg.sloMaxRssGrowthPct, warmupSeconds: cfg.driftWarmupSeconds } }),
    },
    amend: (properties) => withFaults(metrics.results(cfg.load).timeline, properties, faultReport).properties,
    ...(shortened && { interrupted: shortened.note }), host: hostLoad, record: true,
  })
  const { verdict, properties, latency, saturated } = judgement
  metrics.setProperties(properties)
  metrics.setPhase('done')

  const totals = ingest.totals()
  const deadLetterReasons: Record<string, number> = {}
  for (const d of ingestDone) for (const [k, v] of Object.entries(d.deadLetterReasons)) deadLetterReasons[k] = (deadLetterReasons[k] ?? 0) + v
  const result: RunResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId,
    dbRunId,
    profile: cfg.profile,
    seed: cfg.seed,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    verdict,
    ...(shortened && { interrupted: shortened.note }),
    ...(saturated && { timingOnSaturatedHost: saturated.summary }),
    host: hostLoad,
    config: { ...publicConfig(cfg), simStartMs, perDevice },
    environment: { ...environment, mqttVersion },
    counts: {
      devices,
      perDevice: judged,
      offered: devices * judged,
      published,
      acked: sims.reduce((n, s) => n + s.acked, 0),
      received: totals.received,
      ingested: totals.committedRows,
      deadLetters: totals.deadLetters,
      batches: totals.batches,
      dbRetries: totals.retries,
      duplicatesSkipped: totals.duplicatesSkipped,
    },
    rates: achievedRates(cfg.rate, published, loadSeconds),
    latency,
    deadLetterReasons,
    properties,
    ...metrics.results(cfg.load),
    timeline,
    latencyDistribution: latencyDistribution(histograms),
    ...(soak.drift && { drift: soak.drift }),
    ...(ingest.evidence && { transport: ingest.evidence() }),
    ...(faultReport && { faults: faultReport }),
    devices: deviceReport(cfg, sims),
    stages,
  }
  const made = publish({ kind: 'run', result, seconds: Math.round((Date.now() - startedAt.getTime()) / 1000) }, join(cfg.resultsDir, runId), RUN_OUTPUTS)
  return { result, resultFile: made.result, summary: made.summary }
}
