import type { OptionKey, OptionSpec, OptionValues } from './option-spec.js'
import { LOAD_OPTIONS } from './options/load.js'
import { PIPELINE_OPTIONS } from './options/pipeline.js'
import { TRANSPORT_OPTIONS } from './options/transport.js'
import { SERVICES_OPTIONS } from './options/services.js'
import { CHECKS_OPTIONS } from './options/checks.js'
import { LIVE_OPTIONS } from './options/live.js'
import { SCALE_OPTIONS } from './options/scale.js'
import { SOAK_FAULTS_OPTIONS } from './options/soak-faults.js'

export type { OptionKey, OptionSpec, OptionValues, RunConfig, RunOptions } from './option-spec.js'

/**
 * Every run option in one table, a file per subject (options/): its flag, its IOTBENCH_* environment
 * variable, where it sits in a profile file, its type and range. The CLI, the environment reader, the
 * profile reader and --help all come from this table, so the layers cannot disagree. The order is --help's.
 */
export const OPTIONS: readonly OptionSpec[] = [
  ...LOAD_OPTIONS,
  ...PIPELINE_OPTIONS,
  ...TRANSPORT_OPTIONS,
  ...SERVICES_OPTIONS,
  ...CHECKS_OPTIONS,
  ...LIVE_OPTIONS,
  ...SCALE_OPTIONS,
  ...SOAK_FAULTS_OPTIONS,
]

export const envName = (key: OptionKey): string => `IOTBENCH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`

export const DEFAULTS: OptionValues = {
  profile: 'ci',
  description: '',
  durationSeconds: 20,
  rate: 2000,
  speed: undefined,
  startHour: 0,
  load: undefined,
  sensors: undefined,
  replay: undefined,
  models: undefined,
  qos: 1,
  seed: 1,
  farms: 4,
  cowsPerFarm: 60,
  stallsPerFarm: 4,
  tanksPerFarm: 1,
  simWorkers: 2,
  ingestWorkers: 2,
  batchRows: 5000,
  batchMs: 50,
  drainTimeoutSeconds: 30,
  sloP99Ms: 2000,
  sloMaxLost: 0,
  mqttUrl: undefined,
  mqttProtocol: 'auto',
  mqttUsername: undefined,
  mqttPassword: undefined,
  mqttCa: undefined,
  mqttCert: undefined,
  mqttKey: undefined,
  databaseCa: undefined,
  transport: 'mqtt',
  ingest: 'internal',
  ingestCommand: undefined,
  sinkMap: undefined,
  ingestReadyTimeoutSeconds: 60,
  ingestQuietSeconds: 5,
  kafkaUrl: undefined,
  kafkaPartitions: 12,
  kafkajsLog: 'off',
  databaseUrl: undefined,
  dbSchema: 'iotbench',
  storage: 'auto',
  topicPrefix: '',
  resultsDir: 'bench-results',
  embeddedDir: '.iotbench/postgres',
  embeddedPgPort: 54329,
  runId: undefined,
  progress: 'auto',
  metricsPort: undefined,
  metricsHost: '127.0.0.1',
  metricsLingerSeconds: 0,
  faultHook: undefined,
  dashboards: undefined,
  badInput: 0,
  sloAlertRecall: 1,
  sloAlertPrecision: 1,
  sloDetectionP99Ms: undefined,
  sloRateTolerance: 0.9,
  sloMaxScheduleLagMs: undefined,
  driftWarmupSeconds: 60,
  sloMaxRssGrowthPct: undefined,
  strictTiming: false,
  livePort: undefined,
  liveHost: '127.0.0.1',
  liveClients: 0,
  liveFarmsPerClient: 1,
  liveReconnects: 0,
  liveReplayEvents: 50_000,
  liveClientBufferBytes: 4 << 20,
  liveLingerSeconds: 0,
  faults: undefined,
  faultTimeScale: 1,
  brokerRestartCommand: undefined,
  dbRestartCommand: undefined,
  deviceQueue: 10_000,
  deviceQueuePolicy: 'drop-oldest',
  publishWindow: 1000,
  shard: undefined,
  startAt: undefined,
  connections: 'per-thread',
  sourceAddresses: 1,
  maxCeiling: undefined,
  maxResolution: 250,
  maxBudgetSeconds: 900,
  maxBrokerCeiling: undefined,
}
