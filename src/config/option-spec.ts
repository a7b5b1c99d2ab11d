import type { SensorModels } from '../sim/models.js'
import type { LoadShape } from './load.js'
import type { FaultSpec } from '../faults/schedule.js'
import type { StorageChoice } from '../db/server.js'
import type { RunSlices } from './slices.js'

/** How much of kafkajs's own log reaches the run's log (--kafkajs-log). */
export type KafkajsLog = 'off' | 'warn' | 'info' | 'debug'

/** One field per option of the table (options.ts), undefined where no layer set it and it has no default. */
export interface OptionValues {
  readonly profile: string
  readonly description: string
  readonly durationSeconds: number
  readonly rate: number
  /**
   * Simulated seconds per wall-clock second at the baseline rate. Every sensor samples once per
   * simulated minute, so speed = rate × 60 / devices: give --rate or --speed (the later layer wins).
   */
  readonly speed: number | undefined
  /** Simulated hour of day (UTC) at which the run's sensors start. */
  readonly startHour: number
  /** Milking-time spikes and fleet outages over the load (burst). */
  readonly load: LoadShape | undefined
  /** Overrides of the sensor models in sensor-profiles/sensors/, deep-merged (a profile's "sensors"). */
  readonly sensors: Record<string, unknown> | undefined
  /** A recorded trace (CSV file or folder) to publish instead of generating. */
  readonly replay: string | undefined
  /** The sensor models after overrides and validation (resolved, not an option). */
  readonly models: SensorModels | undefined
  readonly qos: 0 | 1
  readonly seed: number
  readonly farms: number
  readonly cowsPerFarm: number
  readonly stallsPerFarm: number
  readonly tanksPerFarm: number
  readonly simWorkers: number
  readonly ingestWorkers: number
  readonly batchRows: number
  readonly batchMs: number
  readonly drainTimeoutSeconds: number
  readonly sloP99Ms: number
  readonly sloMaxLost: number
  readonly mqttUrl: string | undefined
  readonly mqttProtocol: 'auto' | '4' | '5'
  /** Broker credentials and TLS (src/transport/mqtt-options.ts); the password is never logged or stored. */
  readonly mqttUsername: string | undefined
  readonly mqttPassword: string | undefined
  readonly mqttCa: string | undefined
  readonly mqttCert: string | undefined
  readonly mqttKey: string | undefined
  /** CA file for TLS to the database (src/db/tls.ts). */
  readonly databaseCa: string | undefined
  /** mqtt: ingest subscribes to the broker; kafka: a bridge moves telemetry into Kafka, ingest is a consumer group. */
  readonly transport: 'mqtt' | 'kafka'
  /** internal: iotbench's ingest workers; external: an ingest under test (src/external/, docs/external-ingest.md). */
  readonly ingest: 'internal' | 'external'
  /** Shell command that starts the external ingest with the run (its own process group; stopped after the drain). */
  readonly ingestCommand: string | undefined
  /** JSON file naming where the external ingest stores each kind (unset: iotbench's own tables). */
  readonly sinkMap: string | undefined
  readonly ingestReadyTimeoutSeconds: number
  /** The drain ends once the external ingest's stored count has not grown for this long. */
  readonly ingestQuietSeconds: number
  readonly kafkaUrl: string | undefined
  readonly kafkaPartitions: number
  readonly kafkajsLog: KafkajsLog
  readonly databaseUrl: string | undefined
  readonly dbSchema: string
  /** auto: TimescaleDB when the server has it; timescaledb or postgresql: that one or an error (exit 5). */
  readonly storage: StorageChoice
  readonly topicPrefix: string
  readonly resultsDir: string
  readonly embeddedDir: string
  readonly embeddedPgPort: number
  readonly runId: string | undefined
  readonly progress: 'auto' | 'tty' | 'plain' | 'off'
  /** Serve Prometheus metrics on this port while the run lasts (0: any free port; unset: off). */
  readonly metricsPort: number | undefined
  /** Address the metrics endpoint binds to (loopback unless told otherwise). */
  readonly metricsHost: string
  /** Keep /metrics up this long after the verdict, so a scraper sees the final values. */
  readonly metricsLingerSeconds: number
  /** Test-only: make the ingest misbehave, e.g. "drop=3,duplicate=2,reorder=2". */
  readonly faultHook: string | undefined
  /** Folder of Grafana dashboard JSON files whose SQL panels P8 checks (default: the provisioned ones). */
  readonly dashboards: string | undefined
  /** Malformed messages injected on telemetry topics (P7). */
  readonly badInput: number
  readonly sloAlertRecall: number
  readonly sloAlertPrecision: number
  /** Default: sloP99Ms. */
  readonly sloDetectionP99Ms: number | undefined
  readonly sloRateTolerance: number
  /** Default: sloP99Ms. */
  readonly sloMaxScheduleLagMs: number | undefined
  /** Drift (soak): seconds of load left out of the memory and latency lines. */
  readonly driftWarmupSeconds: number
  /** S1: fails when RSS grows this much (%) or more after the warm-up; unset: no S1. */
  readonly sloMaxRssGrowthPct: number | undefined
  /** A timing failure on a saturated host is an ordinary failure (exit 3), not exit 7. */
  readonly strictTiming: boolean
  /** Serve the live page and WebSocket feed on this port (0: any free port; unset: only for simulated clients, on loopback). */
  readonly livePort: number | undefined
  readonly liveHost: string
  /** Simulated dashboard clients on the live feed (P9); 0: P9 not checked. */
  readonly liveClients: number
  readonly liveFarmsPerClient: number
  /** Connections the simulated clients drop (abruptly) and resume by cursor during the load. */
  readonly liveReconnects: number
  /** Events kept per farm for resuming clients. */
  readonly liveReplayEvents: number
  /** Bound of each live client's send buffer (bytes): past it the client is disconnected (4003) and resumes. */
  readonly liveClientBufferBytes: number
  readonly liveLingerSeconds: number
  /** Faults injected during the run (profile "faults"; src/faults/). */
  readonly faults: readonly FaultSpec[] | undefined
  /** Every fault's start and duration multiplied by this (a short CI run of a real schedule). */
  readonly faultTimeScale: number
  readonly brokerRestartCommand: string | undefined
  readonly dbRestartCommand: string | undefined
  /** Readings each simulated device buffers while offline; past it the overflow policy drops (counted). */
  readonly deviceQueue: number
  readonly deviceQueuePolicy: 'drop-oldest' | 'drop-newest'
  /** Most QoS 1 publishes in flight per simulator connection: past it the schedule waits (back-pressure). */
  readonly publishWindow: number
  /** This agent's share of a run made by several agents: "i/n" (src/shard/plan.ts). */
  readonly shard: string | undefined
  /** When the open-loop schedule starts (ISO 8601 or epoch ms): the same for every agent of a sharded run. */
  readonly startAt: string | undefined
  /** MQTT connections of the simulated devices: one per simulator thread, or one per device. */
  readonly connections: 'per-thread' | 'per-device'
  /** Loopback source addresses the per-device connections are spread over (ephemeral ports run out near 28k per address). */
  readonly sourceAddresses: number
  /** --profile max: search for the highest rate that passes, up to this ceiling (unset: a single run). */
  readonly maxCeiling: number | undefined
  /** --profile max: stop when the highest pass and the lowest fail are this close (readings/s). */
  readonly maxResolution: number
  /** --profile max: the whole search's time budget (s). */
  readonly maxBudgetSeconds: number
  /** --profile max: the broker's fan-out ceiling (readings/s, as bench:max measures it); a rate within 5 % of it names the broker. */
  readonly maxBrokerCeiling: number | undefined
}

export type OptionKey = keyof OptionValues

/** What one layer (a profile, the environment, the flags) gives: any of the options, or none. */
export type RunOptions = { -readonly [K in OptionKey]?: OptionValues[K] }

/**
 * The resolved configuration (resolveConfig, src/config/resolve.ts): every option filled in from
 * defaults < profile < IOTBENCH_* env < flags, and the knobs derived from them, each resolved once here.
 */
export interface RunConfig extends Omit<OptionValues, 'speed' | 'models'> {
  /** Always set: from --speed, or from --rate and the fleet. */
  readonly speed: number
  /** The sensor models after the profile's overrides, validated. */
  readonly models: SensorModels
  /** The options each subsystem reads, built once by resolveConfig (not stored with the run). */
  readonly slices: RunSlices
}

interface Base {
  readonly key: OptionKey
  readonly flag: string
  readonly help: string
  /** Path of the value in a profile file; absent for options a profile may not set. */
  readonly profilePath?: readonly string[]
  readonly hidden?: boolean
}
export type OptionSpec =
  | (Base & { readonly type: 'int' | 'number'; readonly min: number; readonly max: number })
  | (Base & { readonly type: 'string'; readonly pattern?: RegExp; readonly patternHelp?: string })
  | (Base & { readonly type: 'enum'; readonly values: readonly string[] })
  | (Base & { readonly type: 'url'; readonly protocols: readonly string[] })
  /** On or off: a flag without a value; true/false (1/0, yes/no) in a variable; a JSON boolean in a profile. */
  | (Base & { readonly type: 'boolean' })
  /** A JSON value (an object in a profile, JSON text in a flag or variable) validated against a schema. */
  | (Base & { readonly type: 'json'; readonly schema: () => object })
