import { overridesSchema, type SensorModels } from '../sim/models.js'
import { loadShapeSchema, type LoadShape } from './load.js'
import { faultScheduleSchema, type FaultSpec } from '../faults/schedule.js'
import { STORAGE_CHOICES, type StorageChoice } from '../db/server.js'

/**
 * Every run option in one table: its flag, its IOTBENCH_* environment variable, where it sits in a
 * profile file, its type and range. The CLI, the environment reader, the profile reader and --help all
 * come from this table, so the layers cannot disagree.
 */
export interface RunConfig {
  readonly profile: string
  readonly description: string
  readonly durationSeconds: number
  readonly rate: number
  /**
   * Simulated seconds per wall-clock second at the baseline rate. Every sensor samples once per
   * simulated minute, so speed = rate × 60 / devices: give --rate or --speed (the later layer wins).
   * Always set once resolved.
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

export type OptionKey = keyof RunConfig

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

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'durationSeconds',
    flag: 'duration',
    type: 'number',
    min: 1,
    max: 7 * 24 * 3600,
    profilePath: ['durationSeconds'],
    help: 'seconds of offered load',
  },
  {
    key: 'rate',
    flag: 'rate',
    type: 'number',
    min: 1,
    max: 1e6,
    profilePath: ['rate'],
    help: 'offered readings per second, whole fleet (open loop)',
  },
  {
    key: 'speed',
    flag: 'speed',
    type: 'number',
    min: 0.001,
    max: 1e7,
    profilePath: ['speed'],
    help: 'simulated time runs this many times faster than wall time (sets the rate: speed × devices / 60 s); default: from --rate',
  },
  {
    key: 'startHour',
    flag: 'start-hour',
    type: 'number',
    min: 0,
    max: 23.99,
    profilePath: ['startHour'],
    help: 'simulated hour of day (UTC) at which the sensors start',
  },
  {
    key: 'replay',
    flag: 'replay',
    type: 'string',
    help: 'publish a recorded trace (a CSV file or a folder of collar.csv, milk.csv, chiller.csv; see docs/sensor-models.md) instead of generating; the fleet and readings per device are the trace’s',
  },
  {
    key: 'load',
    flag: 'load',
    type: 'json',
    schema: loadShapeSchema,
    profilePath: ['load'],
    hidden: true,
    help: 'load shape as JSON: {"spikes":[{"atSeconds","seconds","multiplier"}],"outages":[{"atSeconds","seconds","share"}]}',
  },
  {
    key: 'sensors',
    flag: 'sensors',
    type: 'json',
    schema: overridesSchema,
    profilePath: ['sensors'],
    hidden: true,
    help: 'overrides of the sensor models as JSON, e.g. {"collar":{"anomalies":{"offline":{"perDay":0}}}}',
  },
  { key: 'qos', flag: 'qos', type: 'enum', values: ['0', '1'], profilePath: ['qos'], help: 'MQTT QoS of the sensors’ publishes' },
  {
    key: 'seed',
    flag: 'seed',
    type: 'int',
    min: 0,
    max: 2 ** 31 - 1,
    profilePath: ['seed'],
    help: 'seed of every generated reading (same seed, same run)',
  },
  { key: 'farms', flag: 'farms', type: 'int', min: 1, max: 10_000, profilePath: ['fleet', 'farms'], help: 'number of farms' },
  {
    key: 'cowsPerFarm',
    flag: 'cows-per-farm',
    type: 'int',
    min: 1,
    max: 100_000,
    profilePath: ['fleet', 'cowsPerFarm'],
    help: 'cows (one collar each) per farm',
  },
  {
    key: 'stallsPerFarm',
    flag: 'stalls-per-farm',
    type: 'int',
    min: 0,
    max: 1_000,
    profilePath: ['fleet', 'stallsPerFarm'],
    help: 'milking stalls (one milk meter each) per farm',
  },
  {
    key: 'tanksPerFarm',
    flag: 'tanks-per-farm',
    type: 'int',
    min: 1,
    max: 100,
    profilePath: ['fleet', 'tanksPerFarm'],
    help: 'bulk tanks (one chiller each) per farm',
  },
  { key: 'simWorkers', flag: 'sim-workers', type: 'int', min: 1, max: 64, profilePath: ['simWorkers'], help: 'simulator worker threads' },
  {
    key: 'ingestWorkers',
    flag: 'ingest-workers',
    type: 'int',
    min: 1,
    max: 64,
    profilePath: ['ingestWorkers'],
    help: 'ingest worker threads (farms are split between them)',
  },
  {
    key: 'batchRows',
    flag: 'batch-rows',
    type: 'int',
    min: 1,
    max: 1_000_000,
    profilePath: ['batchRows'],
    help: 'COPY a batch when it has this many rows',
  },
  {
    key: 'batchMs',
    flag: 'batch-ms',
    type: 'int',
    min: 1,
    max: 60_000,
    profilePath: ['batchMs'],
    help: '… or when its oldest row is this old (ms)',
  },
  {
    key: 'drainTimeoutSeconds',
    flag: 'drain-timeout',
    type: 'number',
    min: 1,
    max: 3600,
    profilePath: ['drainTimeoutSeconds'],
    help: 'seconds past the planned end of the load that publishing, acks and ingest may still take; then the run is judged, naming what did not finish',
  },
  {
    key: 'publishWindow',
    flag: 'publish-window',
    type: 'int',
    min: 1,
    max: 65_535,
    profilePath: ['publishWindow'],
    help: 'most QoS 1 publishes in flight (not yet acknowledged) per simulator connection; past it, and while a socket is congested, the schedule falls behind (its lag says by how much)',
  },
  {
    key: 'sloP99Ms',
    flag: 'slo-p99-ms',
    type: 'number',
    min: 1,
    max: 3_600_000,
    profilePath: ['slo', 'p99Ms'],
    help: 'P4 fails when end-to-end p99 exceeds this (ms)',
  },
  {
    key: 'sloMaxLost',
    flag: 'slo-max-lost',
    type: 'int',
    min: 0,
    max: 1e12,
    profilePath: ['slo', 'maxLost'],
    help: 'P1 fails when more acknowledged readings than this are lost',
  },
  {
    key: 'mqttUrl',
    flag: 'mqtt-url',
    type: 'url',
    protocols: ['mqtt:', 'tcp:', 'mqtts:', 'ssl:', 'tls:'],
    help: 'external broker, mqtt://[user[:password]@]host:1883 or mqtts://host:8883 for TLS (default: embedded aedes on 127.0.0.1)',
  },
  { key: 'mqttUsername', flag: 'mqtt-username', type: 'string', help: 'user name for the broker (instead of user@ in --mqtt-url)' },
  {
    key: 'mqttPassword',
    flag: 'mqtt-password',
    type: 'string',
    help: 'password for the broker; prefer the variable IOTBENCH_MQTT_PASSWORD (a flag shows in the process list). Never logged or stored',
  },
  {
    key: 'mqttCa',
    flag: 'mqtt-ca',
    type: 'string',
    help: 'PEM file of the CA that signed the broker’s certificate (mqtts://; default: the system’s trusted CAs)',
  },
  {
    key: 'mqttCert',
    flag: 'mqtt-cert',
    type: 'string',
    help: 'PEM file of a client certificate, for brokers that require one (with --mqtt-key)',
  },
  { key: 'mqttKey', flag: 'mqtt-key', type: 'string', help: 'PEM file of the client certificate’s private key (with --mqtt-cert)' },
  {
    key: 'mqttProtocol',
    flag: 'mqtt-protocol',
    type: 'enum',
    values: ['auto', '4', '5'],
    help: 'MQTT version of the ingest subscriber (auto: 5, else 3.1.1)',
  },
  {
    key: 'transport',
    flag: 'transport',
    type: 'enum',
    values: ['mqtt', 'kafka'],
    profilePath: ['transport'],
    help: 'mqtt: ingest workers subscribe to the broker; kafka: a bridge moves the telemetry into a run-unique Kafka topic and the ingest is a consumer group of --ingest-workers processes (needs --kafka-url)',
  },
  {
    key: 'ingest',
    flag: 'ingest',
    type: 'enum',
    values: ['internal', 'external'],
    profilePath: ['ingest'],
    help: 'internal: iotbench’s own ingest workers; external: start none and judge the ingest under test (yours, or Telegraf: docs/external-ingest.md) from what it stored',
  },
  {
    key: 'ingestCommand',
    flag: 'ingest-command',
    type: 'string',
    help: 'with --ingest external: shell command that starts the ingest with the run (gets IOTBENCH_MQTT_URL, IOTBENCH_MQTT_SERVER, IOTBENCH_MQTT_CLIENT_ID, IOTBENCH_DATABASE_URL, IOTBENCH_DB_SCHEMA, IOTBENCH_DB_RUN_ID, IOTBENCH_RUN_ID, IOTBENCH_TOPIC_PREFIX); stopped after the drain',
  },
  {
    key: 'sinkMap',
    flag: 'sink-map',
    type: 'string',
    help: 'with --ingest external: JSON file naming, per sensor kind, the table and columns the ingest stores into, and optionally its alerts and dead-letter tables (${VAR} is expanded); unset: it writes iotbench’s own tables',
  },
  {
    key: 'ingestReadyTimeoutSeconds',
    flag: 'ingest-ready-timeout',
    type: 'number',
    min: 1,
    max: 3600,
    help: 'with --ingest external: seconds for the readiness probe to appear in the sink before the load (then exit 5)',
  },
  {
    key: 'ingestQuietSeconds',
    flag: 'ingest-quiet',
    type: 'number',
    min: 0.5,
    max: 3600,
    help: 'with --ingest external: the drain ends when the stored count has not grown for this long (or reached every published reading, or --drain-timeout)',
  },
  {
    key: 'kafkaUrl',
    flag: 'kafka-url',
    type: 'url',
    protocols: ['kafka:'],
    help: 'Kafka bootstrap broker for --transport kafka, e.g. kafka://127.0.0.1:19092',
  },
  {
    key: 'kafkaPartitions',
    flag: 'kafka-partitions',
    type: 'int',
    min: 1,
    max: 10_000,
    profilePath: ['kafkaPartitions'],
    help: 'partitions of the run’s Kafka topic (the most consumers that can share the load)',
  },
  {
    key: 'databaseUrl',
    flag: 'database-url',
    type: 'url',
    protocols: ['postgres:', 'postgresql:'],
    help: 'PostgreSQL/TimescaleDB (default: embedded PostgreSQL)',
  },
  {
    key: 'databaseCa',
    flag: 'database-ca',
    type: 'string',
    help: 'PEM file of the CA that signed the database server’s certificate (sslmode=verify-full unless the URL sets sslmode); libpq’s sslmode in --database-url works as in psql',
  },
  {
    key: 'storage',
    flag: 'storage',
    type: 'enum',
    values: STORAGE_CHOICES,
    help: 'auto: TimescaleDB hypertables when the server has the extension, else plain PostgreSQL partitions; timescaledb or postgresql: that one, or exit 5 saying why (never an extension created where postgresql was asked for)',
  },
  {
    key: 'dbSchema',
    flag: 'db-schema',
    type: 'string',
    pattern: /^[a-z_][a-z0-9_]{0,62}$/,
    patternHelp: 'a lower-case SQL identifier',
    help: 'schema that holds the bench tables (runs are isolated by run id inside it)',
  },
  {
    key: 'topicPrefix',
    flag: 'topic-prefix',
    type: 'string',
    pattern: /^([A-Za-z0-9_.-]+\/)*$/,
    patternHelp: 'empty, or segments of [A-Za-z0-9_.-] each ending in "/"',
    help: 'prefix of every topic, to share a broker between runs',
  },
  { key: 'resultsDir', flag: 'results-dir', type: 'string', help: 'where bench-results/<run-id>/ is written' },
  { key: 'embeddedDir', flag: 'embedded-dir', type: 'string', help: 'data folder of the embedded PostgreSQL (kept and reused)' },
  {
    key: 'embeddedPgPort',
    flag: 'embedded-pg-port',
    type: 'int',
    min: 1024,
    max: 65535,
    help: 'port of the embedded PostgreSQL (127.0.0.1)',
  },
  {
    key: 'runId',
    flag: 'run-id',
    type: 'string',
    pattern: /^[A-Za-z0-9_.-]{1,80}$/,
    patternHelp: '1–80 characters of [A-Za-z0-9_.-]',
    help: 'name of this run (default: time, profile and a random suffix)',
  },
  {
    key: 'progress',
    flag: 'progress',
    type: 'enum',
    values: ['auto', 'tty', 'plain', 'off'],
    help: 'live progress: a status line on a terminal, periodic lines otherwise',
  },
  {
    key: 'metricsPort',
    flag: 'metrics-port',
    type: 'int',
    min: 0,
    max: 65535,
    help: 'serve Prometheus metrics at http://<metrics-host>:<port>/metrics during the run (0: any free port)',
  },
  {
    key: 'metricsHost',
    flag: 'metrics-host',
    type: 'string',
    pattern: /^[A-Za-z0-9.:_-]{1,253}$/,
    patternHelp: 'a host name or IP address',
    help: 'address the metrics endpoint binds to (0.0.0.0 to let a Prometheus in a container scrape it)',
  },
  {
    key: 'metricsLingerSeconds',
    flag: 'metrics-linger',
    type: 'number',
    min: 0,
    max: 3600,
    help: 'keep /metrics up this many seconds after the verdict, so Prometheus scrapes the final values',
  },
  {
    key: 'faultHook',
    flag: 'fault-hook',
    type: 'string',
    pattern:
      /^((drop|duplicate|reorder|corrupt|stallMs|dropAlert|spuriousAlert|delayAlert|deadLetter|dropLive)=\d+)(,(drop|duplicate|reorder|corrupt|stallMs|dropAlert|spuriousAlert|delayAlert|deadLetter|dropLive)=\d+)*$/,
    patternHelp:
      'name=N,… with names drop, duplicate, reorder, corrupt, stallMs, dropAlert, spuriousAlert, delayAlert, deadLetter, dropLive',
    hidden: true,
    help: 'test only: make the ingest drop, duplicate, reorder or corrupt readings, stall a commit, drop, invent or delay alerts, reject valid readings, or keep readings from the live feed (see src/ingest/fault-hook.ts)',
  },
  {
    key: 'dashboards',
    flag: 'dashboards',
    type: 'string',
    help: 'folder of Grafana dashboard JSON files whose SQL panels P8 runs against the run and compares with the oracle (default: dashboards/grafana/dashboards)',
  },
  {
    key: 'badInput',
    flag: 'bad-input',
    type: 'int',
    min: 0,
    max: 1_000_000,
    profilePath: ['badInput'],
    help: 'malformed messages the simulators inject on telemetry topics (P7: each must land in dead_letters with its reason)',
  },
  {
    key: 'sloAlertRecall',
    flag: 'slo-alert-recall',
    type: 'number',
    min: 0,
    max: 1,
    profilePath: ['slo', 'alertRecall'],
    help: 'P5 fails when fewer detectable injected anomalies than this share raised their alert in time',
  },
  {
    key: 'sloAlertPrecision',
    flag: 'slo-alert-precision',
    type: 'number',
    min: 0,
    max: 1,
    profilePath: ['slo', 'alertPrecision'],
    help: 'P5 fails when fewer alerts than this share map to an injected anomaly (or the rule’s condition)',
  },
  {
    key: 'sloDetectionP99Ms',
    flag: 'slo-detection-p99-ms',
    type: 'number',
    min: 1,
    max: 86_400_000,
    profilePath: ['slo', 'detectionP99Ms'],
    help: 'P5 fails when the wall-clock detection delay p99 (intended send of the triggering reading → alert) exceeds this (ms); default: --slo-p99-ms',
  },
  {
    key: 'sloRateTolerance',
    flag: 'slo-rate-tolerance',
    type: 'number',
    min: 0,
    max: 1,
    profilePath: ['slo', 'rateTolerance'],
    help: 'P6 fails when the achieved send or ingest rate is below the offered rate × this',
  },
  {
    key: 'livePort',
    flag: 'live-port',
    type: 'int',
    min: 0,
    max: 65535,
    help: 'serve the live page (real-time charts of one farm) and its WebSocket feed at http://<live-host>:<port>/ during the run (0: any free port)',
  },
  {
    key: 'liveHost',
    flag: 'live-host',
    type: 'string',
    pattern: /^[A-Za-z0-9.:_-]{1,253}$/,
    patternHelp: 'a host name or IP address',
    help: 'address the live page binds to (loopback unless told otherwise)',
  },
  {
    key: 'liveClients',
    flag: 'live-clients',
    type: 'int',
    min: 0,
    max: 100_000,
    profilePath: ['live', 'clients'],
    help: 'simulated dashboard clients on the live feed, on loopback (P9 checks each got every committed reading and alert of its farms, once, in order)',
  },
  {
    key: 'liveFarmsPerClient',
    flag: 'live-farms-per-client',
    type: 'int',
    min: 1,
    max: 10_000,
    profilePath: ['live', 'farmsPerClient'],
    help: 'farms each simulated live client subscribes to',
  },
  {
    key: 'liveReconnects',
    flag: 'live-reconnects',
    type: 'int',
    min: 0,
    max: 1_000_000,
    profilePath: ['live', 'reconnects'],
    help: 'connections the simulated live clients drop during the load and resume by cursor',
  },
  {
    key: 'liveReplayEvents',
    flag: 'live-replay-events',
    type: 'int',
    min: 100,
    max: 10_000_000,
    profilePath: ['live', 'replayEvents'],
    help: 'events kept per farm for clients that resume (an older cursor is refused with close code 4001, never skipped)',
  },
  {
    key: 'liveClientBufferBytes',
    flag: 'live-client-buffer-bytes',
    type: 'int',
    min: 1024,
    max: 1 << 30,
    profilePath: ['live', 'clientBufferBytes'],
    help: 'bound of each live client’s send buffer; a client past it is disconnected (close code 4003, counted) and resumes from its cursor',
  },
  {
    key: 'liveLingerSeconds',
    flag: 'live-linger',
    type: 'number',
    min: 0,
    max: 3600,
    help: 'keep the live page up this many seconds after the verdict',
  },
  {
    key: 'shard',
    flag: 'shard',
    type: 'string',
    pattern: /^\d+\/\d+$/,
    patternHelp: 'i/n, e.g. 1/2',
    help: 'be agent i of n that make one run (an exact share of the farms, published and ingested here); needs the same --run-id, --seed, broker and database on every agent (they meet at a barrier in the database, or at --start-at); then: iotbench merge',
  },
  {
    key: 'startAt',
    flag: 'start-at',
    type: 'string',
    help: 'start the open-loop schedule at this time (ISO 8601 or epoch ms), e.g. the same time on every shard agent',
  },
  {
    key: 'connections',
    flag: 'connections',
    type: 'enum',
    values: ['per-thread', 'per-device'],
    profilePath: ['connections'],
    help: 'MQTT connections of the devices: one multiplexed connection per simulator thread, or one per device as real collars connect',
  },
  {
    key: 'sourceAddresses',
    flag: 'source-addresses',
    type: 'int',
    min: 1,
    max: 250,
    profilePath: ['sourceAddresses'],
    help: 'with --connections per-device to a loopback broker: spread the connections over 127.0.0.1, 127.0.0.2, … (about 28k ephemeral ports each)',
  },
  {
    key: 'maxCeiling',
    flag: 'max-ceiling',
    type: 'number',
    min: 1,
    max: 1e6,
    profilePath: ['max', 'ceiling'],
    help: 'search for the highest offered rate at which every property holds, from --rate up to this (the max profile sets it): steps ×2, then a binary search',
  },
  {
    key: 'maxResolution',
    flag: 'max-resolution',
    type: 'number',
    min: 1,
    max: 1e6,
    profilePath: ['max', 'resolution'],
    help: 'max search: stop when the highest passing and lowest failing rates are this close (readings/s)',
  },
  {
    key: 'maxBudgetSeconds',
    flag: 'max-budget',
    type: 'number',
    min: 1,
    max: 7 * 24 * 3600,
    profilePath: ['max', 'budgetSeconds'],
    help: 'max search: start no new step after this many seconds',
  },
  {
    key: 'maxBrokerCeiling',
    flag: 'max-broker-ceiling',
    type: 'number',
    min: 1,
    max: 1e7,
    profilePath: ['max', 'brokerCeiling'],
    help: "max search: the broker's fan-out ceiling (readings/s: the simulators into it with one plain subscriber, as npm run bench:max measures it); a step offered within 5 % of it names the broker as the limit",
  },
  {
    key: 'sloMaxScheduleLagMs',
    flag: 'slo-max-schedule-lag-ms',
    type: 'number',
    min: 1,
    max: 3_600_000,
    profilePath: ['slo', 'maxScheduleLagMs'],
    help: 'P6 fails when the simulators fell behind their schedule by more than this at p99 (ms): back-pressure is never silent; default: --slo-p99-ms',
  },
  {
    key: 'driftWarmupSeconds',
    flag: 'drift-warmup',
    type: 'number',
    min: 0,
    max: 7 * 24 * 3600,
    profilePath: ['drift', 'warmupSeconds'],
    help: 'seconds of load before the memory and p99 drift lines start (result.json "drift", needs 30 s of load after it)',
  },
  {
    key: 'strictTiming',
    flag: 'strict-timing',
    type: 'boolean',
    profilePath: ['slo', 'strictTiming'],
    help: 'a timing property (P4, P5’s detection delay, P6, P9’s latency) that fails on a saturated host exits 3 like any failure, instead of 7',
  },
  {
    key: 'sloMaxRssGrowthPct',
    flag: 'slo-max-rss-growth-pct',
    type: 'number',
    min: 0,
    max: 10_000,
    profilePath: ['slo', 'maxRssGrowthPct'],
    help: 'S1 fails when resident memory grows this many % or more along its fitted line after the warm-up (soak)',
  },
  {
    key: 'faults',
    flag: 'faults',
    type: 'json',
    schema: faultScheduleSchema,
    profilePath: ['faults'],
    help: 'faults to inject as JSON, e.g. [{"kind":"db-outage","atSeconds":20,"seconds":30}]; kinds broker-restart, db-restart, db-outage, ingest-kill, network (see docs/faults.md)',
  },
  {
    key: 'faultTimeScale',
    flag: 'fault-time-scale',
    type: 'number',
    min: 0.001,
    max: 1000,
    profilePath: ['faultTimeScale'],
    help: 'multiply every fault’s start and duration by this (e.g. 0.25 with --duration 45 for a short run of the faults profile)',
  },
  {
    key: 'brokerRestartCommand',
    flag: 'broker-restart-command',
    type: 'string',
    help: 'shell command that restarts an external broker for a broker-restart fault (IOTBENCH_FAULT_SECONDS: the planned downtime)',
  },
  {
    key: 'dbRestartCommand',
    flag: 'db-restart-command',
    type: 'string',
    help: 'shell command that restarts an external database for a db-restart fault (IOTBENCH_FAULT_SECONDS: the planned downtime)',
  },
  {
    key: 'deviceQueue',
    flag: 'device-queue',
    type: 'int',
    min: 1,
    max: 10_000_000,
    profilePath: ['device', 'queue'],
    help: 'readings each simulated device buffers while offline or disconnected',
  },
  {
    key: 'deviceQueuePolicy',
    flag: 'device-queue-policy',
    type: 'enum',
    values: ['drop-oldest', 'drop-newest'],
    profilePath: ['device', 'queuePolicy'],
    help: 'what a full device queue drops (counted, and classified by P1)',
  },
]

export const envName = (key: OptionKey): string => `IOTBENCH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`

export const DEFAULTS: RunConfig = {
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
