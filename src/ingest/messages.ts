import type { AlertRules } from '../alerts/rules.js'
import type { ThreadSnapshot } from '../metrics/thread-metrics.js'
import type { MqttSubscription } from '../transport/mqtt-subscriber.js'
import type { AlertEvent } from '../alerts/engine.js'
import type { DecodedReading } from './decode.js'
import type { KafkajsLog } from '../config/option-spec.js'

/** Typed messages between the main thread and ingest worker threads. */
export interface IngestWorkerData extends MqttSubscription {
  readonly worker: number
  readonly runId: number
  readonly databaseUrl: string
  readonly dbSchema: string
  readonly batchRows: number
  readonly batchMs: number
  readonly faultHook: string | undefined
  /** Alert rules per sensor kind, as data (sensor-profiles/sensors/*.json "alerts"). */
  readonly alertRules: AlertRules
  /** Started again after a fault killed the thread: waits for the broker and database instead of failing. */
  readonly respawned?: boolean
  /** How many times this worker was respawned (0 at first). */
  readonly incarnation?: number
  /** Hand each committed batch's readings and alerts to the live feed (main thread). */
  readonly live?: boolean
  /** Consume from Kafka (a member of a consumer group) instead of subscribing to MQTT. */
  readonly kafka?: KafkaIngest
}

export interface KafkaIngest {
  readonly brokers: readonly string[]
  readonly topic: string
  readonly groupId: string
  readonly partitions: number
  /** A dead member's partitions move to the others after this long without its heartbeat. */
  readonly sessionTimeoutMs: number
  /** kafkajs's own log in the run's log (--kafkajs-log). */
  readonly log: KafkajsLog
}

export interface IngestCounters {
  readonly received: number
  readonly committedRows: number
  readonly deadLetters: number
  readonly batches: number
  readonly retries: number
  /** Redelivered readings acknowledged but not stored again (exactly-once effect). */
  readonly duplicatesSkipped: number
}

export type ToIngest = { readonly kind: 'stop' }

export type FromIngest =
  /** restoredRows: readings of this worker's farms the run had already stored (what earlier incarnations committed). */
  | { readonly kind: 'ready'; readonly worker: number; readonly mqttVersion: 4 | 5; readonly restoredRows?: number }
  | ({
      readonly kind: 'stats'
      readonly worker: number
      /** The same readings' end-to-end latencies, encoded HdrHistogram (µs): merged per second for the timeline. */
      readonly recentLatency?: string
      /** Everything this thread recorded for /metrics since it started (cumulative). */
      readonly metrics?: ThreadSnapshot
    } & IngestCounters)
  | ({
      readonly kind: 'done'
      readonly worker: number
      /** Intended send time → batch commit, encoded HdrHistogram (µs). */
      readonly endToEnd: string
      /** Intended send time → received by the ingest (the broker hop), encoded HdrHistogram (µs). */
      readonly brokerHop: string
      /** Kafka transport: the record's Kafka timestamp (bridge produce) → received by the consumer (µs). */
      readonly kafkaHop?: string
      readonly deadLetterReasons: Readonly<Record<string, number>>
      /** Alerts this thread raised and committed. */
      readonly alertsRaised?: number
      /** The thread's final metrics (cumulative). */
      readonly metrics?: ThreadSnapshot
    } & IngestCounters)
  /** A committed batch's readings (receive order) and alert rows, for the live feed. */
  | { readonly kind: 'live'; readonly worker: number; readonly readings: readonly DecodedReading[]; readonly alerts: readonly AlertEvent[] }
  | { readonly kind: 'log'; readonly worker: number; readonly line: string }
  /** Kafka transport: the group gave this member its partitions (join counts this member's joins). */
  | {
      readonly kind: 'assigned'
      readonly worker: number
      readonly pid: number
      readonly join: number
      readonly memberId: string
      readonly partitions: readonly number[]
    }
  | { readonly kind: 'fatal'; readonly worker: number; readonly message: string }
