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
  | { readonly kind: 'ready'; readonly worker: number; readonly mqttVersion: 4 | 5 }
  | ({
      readonly kind: 'stats'
      readonly worker: number
      /** End-to-end p99 of the readings committed since the previous stats message (ms; 0 if none). */
      readonly recentP99Ms: number
    } & IngestCounters)
  | ({
      readonly kind: 'done'
      readonly worker: number
      /** Intended send time → batch commit, encoded HdrHistogram (µs). */
      readonly endToEnd: string
      /** Intended send time → received by the ingest (the broker hop), encoded HdrHistogram (µs). */
      readonly brokerHop: string
      readonly deadLetterReasons: Readonly<Record<string, number>>
    } & IngestCounters)
  | { readonly kind: 'log'; readonly worker: number; readonly line: string }
  | { readonly kind: 'fatal'; readonly worker: number; readonly message: string }
