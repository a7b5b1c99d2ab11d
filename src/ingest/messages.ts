import type { AlertRules } from '../alerts/rules.js'
import type { ThreadSnapshot } from '../metrics/thread-metrics.js'

/** Typed messages between the main thread and ingest worker threads. */
export interface IngestWorkerData {
  readonly worker: number
  readonly runId: number
  readonly mqttUrl: string
  readonly mqttProtocol: 'auto' | '4' | '5'
  readonly clientId: string
  readonly filters: readonly string[]
  readonly topicPrefix: string
  readonly databaseUrl: string
  readonly dbSchema: string
  readonly batchRows: number
  readonly batchMs: number
  readonly window: number
  readonly faultHook: string | undefined
  /** Alert rules per sensor kind, as data (sensor-profiles/sensors/*.json "alerts"). */
  readonly alertRules: AlertRules
  /** Started again after a fault killed the thread: waits for the broker and database instead of failing. */
  readonly respawned?: boolean
  /** How many times this worker was respawned (0 at first). */
  readonly incarnation?: number
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
      readonly deadLetterReasons: Readonly<Record<string, number>>
      /** Alerts this thread raised and committed. */
      readonly alertsRaised?: number
      /** The thread's final metrics (cumulative). */
      readonly metrics?: ThreadSnapshot
    } & IngestCounters)
  | { readonly kind: 'log'; readonly worker: number; readonly line: string }
  | { readonly kind: 'fatal'; readonly worker: number; readonly message: string }
