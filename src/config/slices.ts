import { alertRulesOf, type AlertRules } from '../alerts/rules.js'
import { faultScheduleOf } from '../faults/config.js'
import type { FaultSpec } from '../faults/schedule.js'
import { farmId, fleetOf, fleetSize, type FleetShape } from '../fleet.js'
import { SAMPLE_INTERVAL_S } from '../sim/context.js'
import type { SensorModels } from '../sim/models.js'
import type { LoadShape } from './load.js'
import type { OptionValues, RunConfig } from './option-spec.js'

/** What every internal ingest worker takes from the options; the run adds its share of farms, its URLs and ids. */
export interface IngestSlice {
  readonly mqttProtocol: OptionValues['mqttProtocol']
  readonly topicPrefix: string
  readonly dbSchema: string
  readonly batchRows: number
  readonly batchMs: number
  /** Readings each subscriber connection may hold unacknowledged: 4 batches, from 1,000 to 60,000. */
  readonly window: number
  /** The sensor models' alert rules, as data. */
  readonly alertRules: AlertRules
}

/** What every simulator thread takes from the options; the run adds its devices, broker URL, client id and schedule. */
export interface SimThreadSlice {
  readonly topicPrefix: string
  readonly qos: 0 | 1
  readonly drainTimeoutMs: number
  readonly publishWindow: number
  readonly deviceQueue: number
  readonly deviceQueuePolicy: OptionValues['deviceQueuePolicy']
  readonly connections: OptionValues['connections']
  readonly sourceAddresses: number
}

/** The simulation the simulators and the oracle share (src/sim/setup.ts), and each simulator thread's part. */
export interface SimSlice {
  readonly fleet: FleetShape
  readonly seed: number
  readonly rate: number
  readonly speed: number
  readonly models: SensorModels
  readonly startHour: number
  readonly load: LoadShape | undefined
  /** The recorded trace to publish instead of generating (--replay). */
  readonly replay: string | undefined
  readonly thread: SimThreadSlice
}

/** The live feed and its simulated clients (src/live/run-live.ts). */
export interface LiveSlice {
  /** The fleet's farm ids, the feed's channels. */
  readonly farms: readonly string[]
  /** Where the page listens: --live-host with --live-port, else 127.0.0.1 on an ephemeral port. */
  readonly host: string
  readonly port: number | undefined
  /** Simulated clients; none with an external ingest (it sends the feed nothing). */
  readonly clients: number
  readonly farmsPerClient: number
  readonly reconnects: number
  readonly replayEvents: number
  readonly clientBufferBytes: number
  readonly lingerSeconds: number
  /** The load's length: the planned reconnects fall inside it. */
  readonly durationMs: number
  /** How long the clients may take to receive the last events after the load. */
  readonly drainMs: number
}

/** The run's fault machinery (src/faults/run-faults.ts). */
export interface FaultsSlice {
  /** The schedule after --fault-time-scale; empty without faults. */
  readonly schedule: readonly FaultSpec[]
  readonly brokerRestartCommand: string | undefined
  readonly dbRestartCommand: string | undefined
  /** With QoS 1 a fault run waits for every published reading to be committed, not only received. */
  readonly qos: 0 | 1
  readonly sloP99Ms: number
}

/** --ingest external: how the bench starts, probes and watches the other ingest (src/external/run-external.ts). */
export interface ExternalSlice {
  readonly command: string | undefined
  readonly sinkMap: string | undefined
  readonly dbSchema: string
  readonly topicPrefix: string
  readonly readyTimeoutMs: number
  readonly quietMs: number
}

/** A shard agent's evidence file and `iotbench merge` (src/shard/): where results go, and what names the run. */
export interface ShardSlice {
  readonly profile: string
  readonly seed: number
  readonly resultsDir: string
  readonly dbSchema: string
}

/** What each subsystem reads, built once by resolveConfig (not stored with the run). */
export interface RunSlices {
  readonly ingest: IngestSlice
  readonly sim: SimSlice
  readonly live: LiveSlice
  readonly faults: FaultsSlice
  readonly external: ExternalSlice
  readonly shard: ShardSlice
}

/** Each subsystem's slice of the resolved options, with the knobs derived from them. */
export function slicesOf(c: Omit<RunConfig, 'slices'>): RunSlices {
  const fleet = fleetOf(c)
  return {
    ingest: {
      mqttProtocol: c.mqttProtocol,
      topicPrefix: c.topicPrefix,
      dbSchema: c.dbSchema,
      batchRows: c.batchRows,
      batchMs: c.batchMs,
      // Four batches in flight per subscriber connection keep COPY busy; bounded for memory and broker limits.
      window: Math.min(60_000, Math.max(1_000, c.batchRows * 4)),
      alertRules: alertRulesOf(c.models),
    },
    sim: {
      fleet,
      seed: c.seed,
      rate: c.rate,
      speed: c.speed,
      models: c.models,
      startHour: c.startHour,
      load: c.load,
      replay: c.replay,
      thread: {
        topicPrefix: c.topicPrefix,
        qos: c.qos,
        drainTimeoutMs: c.drainTimeoutSeconds * 1000,
        publishWindow: c.publishWindow,
        deviceQueue: c.deviceQueue,
        deviceQueuePolicy: c.deviceQueuePolicy,
        connections: c.connections,
        sourceAddresses: c.sourceAddresses,
      },
    },
    live: {
      farms: Array.from({ length: fleet.farms }, (_, i) => farmId(fleet, i)),
      host: c.livePort === undefined ? '127.0.0.1' : c.liveHost,
      port: c.livePort,
      clients: c.ingest === 'external' ? 0 : c.liveClients,
      farmsPerClient: c.liveFarmsPerClient,
      reconnects: c.liveReconnects,
      replayEvents: c.liveReplayEvents,
      clientBufferBytes: c.liveClientBufferBytes,
      lingerSeconds: c.liveLingerSeconds,
      durationMs: c.durationSeconds * 1000,
      drainMs: c.drainTimeoutSeconds * 1000,
    },
    faults: {
      schedule: faultScheduleOf(c),
      brokerRestartCommand: c.brokerRestartCommand,
      dbRestartCommand: c.dbRestartCommand,
      qos: c.qos,
      sloP99Ms: c.sloP99Ms,
    },
    external: {
      command: c.ingestCommand,
      sinkMap: c.sinkMap,
      dbSchema: c.dbSchema,
      topicPrefix: c.topicPrefix,
      readyTimeoutMs: c.ingestReadyTimeoutSeconds * 1000,
      quietMs: c.ingestQuietSeconds * 1000,
    },
    shard: { profile: c.profile, seed: c.seed, resultsDir: c.resultsDir, dbSchema: c.dbSchema },
  }
}

/**
 * A resolved config at another rate (a --profile max step): the speed follows the rate as resolveConfig
 * derives it (rate = speed × devices / the sample interval), and the slices are built again from both.
 */
export function atRate(c: RunConfig, rate: number): RunConfig {
  const next = { ...c, rate, speed: (rate * SAMPLE_INTERVAL_S) / fleetSize(fleetOf(c)) }
  return { ...next, slices: slicesOf(next) }
}
