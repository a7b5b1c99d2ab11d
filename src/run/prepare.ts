import { cpus } from 'node:os'
import type pg from 'pg'
import { migrate, pgSession } from '../db/migrate.js'
import { fleetOf, fleetSize, type FleetShape } from '../fleet.js'
import { KINDS, KIND_NAMES } from '../kinds.js'
import type { RunResult } from '../report/result.js'
import { isSharded, parseStartAt, shardFarmIds, shardPlan, type ShardPlan } from '../shard/plan.js'
import { maxClockSkewMs, sensorDayStart } from '../sim/context.js'
import { readingsPerDevice } from '../sim/schedule.js'
import { publicConfig, type RunContext } from './context.js'

/** What the prepare phase settled: the database ready, the run's row, its shape and its sensor time. */
export interface Prepared {
  readonly startedAt: Date
  readonly storage: RunResult['environment']['storage']
  readonly environment: Omit<RunResult['environment'], 'mqttVersion'>
  readonly fleet: FleetShape
  readonly devices: number
  readonly plan: ShardPlan
  readonly startAtMs: number | undefined
  readonly perDevice: number
  readonly simStartMs: number
  readonly dbRunId: number
  /** The farms this agent publishes and ingests (all of them unless --shard). */
  readonly farms: readonly string[]
  /** The prefix of the run's MQTT client ids. */
  readonly clientBase: string
}

/** Prepare: migrations, the run's shape and sensor time, its partitions and its row in `runs`. */
export async function prepare({ cfg, runId, log, broker, database }: RunContext, admin: pg.Client): Promise<Prepared> {
  const startedAt = new Date()
  const { storage, applied, environment: server } = await migrate(pgSession(admin), cfg.dbSchema, { storage: cfg.storage })
  if (applied.length) log(`applied migrations: ${applied.join(', ')}`)
  if (storage === 'timescaledb')
    log(`TimescaleDB ${server.timescaledbVersion ?? '?'} on PostgreSQL ${server.serverVersion}; background jobs ${server.backgroundJobs}`)
  const environment: Prepared['environment'] = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    broker: broker.description,
    database: database.description,
    storage,
    ...server,
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
  const simStartMs = sensorDayStart(anchorMs, cfg.startHour, perDevice, maxClockSkewMs(cfg.models))
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
  const dbRunId = inserted.rows[0].id
  log(`run ${runId} (#${dbRunId}): ${devices} devices × ${perDevice} readings at ${cfg.rate}/s, QoS ${cfg.qos}, storage ${storage}`)
  if (isSharded(plan))
    log(
      `shard ${plan.index + 1}/${plan.count}: farms ${plan.farms[0] + 1}–${plan.farms[1]}, devices ${plan.devices[0]}–${plan.devices[1] - 1}`,
    )

  const farms = shardFarmIds(fleet, plan)
  // MQTT client ids must differ between the agents of a run, or the broker would take one's session over for the other.
  const clientBase = isSharded(plan) ? `iotbench-${runId}-s${plan.index + 1}` : `iotbench-${runId}`
  return { startedAt, storage, environment, fleet, devices, plan, startAtMs, perDevice, simStartMs, dbRunId, farms, clientBase }
}
