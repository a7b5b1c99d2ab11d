/**
 * Every metric iotbench exposes, as data: name, type, help and labels. Worker threads and the main
 * thread record into the same catalogue (src/metrics/thread-metrics.ts); the main thread sums the
 * threads' cumulative snapshots when Prometheus scrapes (src/metrics/hub.ts).
 *
 * Counters and histograms are summed over threads (no thread label: each reading is counted by the
 * one thread that handled it). Gauges marked perThread carry a `thread` label instead.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram'

export interface MetricDef {
  readonly name: string
  readonly type: MetricType
  readonly help: string
  readonly labels: readonly string[]
  /** Histogram upper bounds (le), ascending. */
  readonly buckets?: readonly number[]
  /** A gauge each thread reports for itself (exposed with a `thread` label, never summed). */
  readonly perThread?: boolean
}

/** Seconds: 1 ms … 60 s, about three buckets a decade (Prometheus's histogram_quantile interpolates within one). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const
export const ROWS_BUCKETS = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000] as const
export const COPY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

export const METRICS = {
  offered: {
    name: 'iotbench_readings_offered_total',
    type: 'counter',
    labels: ['kind'],
    help: 'Readings that came due on the open-loop schedule (sim threads)',
  },
  published: {
    name: 'iotbench_readings_published_total',
    type: 'counter',
    labels: ['kind'],
    help: 'Readings the simulated sensors published to the broker',
  },
  acked: {
    name: 'iotbench_readings_acked_total',
    type: 'counter',
    labels: ['kind'],
    help: 'Published readings the broker acknowledged (PUBACK at QoS 1; sent at QoS 0)',
  },
  received: {
    name: 'iotbench_readings_received_total',
    type: 'counter',
    labels: [],
    help: 'MQTT messages the ingest received (valid or not, redeliveries included)',
  },
  ingested: { name: 'iotbench_readings_ingested_total', type: 'counter', labels: ['kind'], help: 'Readings committed to the database' },
  deadLettered: {
    name: 'iotbench_readings_dead_lettered_total',
    type: 'counter',
    labels: ['kind', 'reason'],
    help: 'Messages stored in dead_letters, by the kind their topic names (unknown if none) and reason',
  },
  duplicatesSkipped: {
    name: 'iotbench_readings_duplicates_skipped_total',
    type: 'counter',
    labels: [],
    help: 'Redelivered readings acknowledged but not stored again',
  },
  batches: { name: 'iotbench_ingest_batches_total', type: 'counter', labels: [], help: 'Batches committed (one transaction each)' },
  dbRetries: {
    name: 'iotbench_ingest_db_retries_total',
    type: 'counter',
    labels: [],
    help: 'Batch commits retried after a retriable database error',
  },
  alerts: { name: 'iotbench_alerts_total', type: 'counter', labels: ['rule'], help: 'Alerts raised by the ingest, by rule' },
  batchRows: {
    name: 'iotbench_ingest_batch_rows',
    type: 'histogram',
    labels: [],
    buckets: ROWS_BUCKETS,
    help: 'Rows (readings and dead letters) per committed batch',
  },
  copySeconds: {
    name: 'iotbench_ingest_copy_seconds',
    type: 'histogram',
    labels: [],
    buckets: COPY_BUCKETS,
    help: 'Seconds to write one batch: COPY per kind, dead letters and COMMIT',
  },
  endToEnd: {
    name: 'iotbench_end_to_end_latency_seconds',
    type: 'histogram',
    labels: [],
    buckets: LATENCY_BUCKETS,
    help: 'Intended send time to database commit, per reading',
  },
  ingestLag: {
    name: 'iotbench_ingest_lag_seconds',
    type: 'gauge',
    labels: [],
    perThread: true,
    help: 'Age (from its intended send time) of the oldest reading an ingest thread holds uncommitted; 0 when it holds none',
  },
  backlog: {
    name: 'iotbench_ingest_backlog_readings',
    type: 'gauge',
    labels: [],
    help: 'Published minus received by the ingest: readings in the broker or on the wire',
  },
  connections: {
    name: 'iotbench_broker_connections',
    type: 'gauge',
    labels: ['side'],
    help: 'MQTT connections the bench holds open to the broker (sim: sensor publishers, ingest: subscribers)',
  },
  brokerClients: {
    name: 'iotbench_broker_clients',
    type: 'gauge',
    labels: [],
    help: 'Clients connected to the embedded aedes broker, as it counts them (embedded broker only)',
  },
  property: {
    name: 'iotbench_property_status',
    type: 'gauge',
    labels: ['property', 'name'],
    help: 'Verification result per property: 1 pass, 0 fail, -1 not verified yet',
  },
  runInfo: {
    name: 'iotbench_run_info',
    type: 'gauge',
    labels: ['run_id', 'profile', 'broker', 'storage'],
    help: 'The run being measured (value 1)',
  },
  phase: {
    name: 'iotbench_run_phase',
    type: 'gauge',
    labels: ['phase'],
    help: '1 for the phase the run is in: setup, load, drain, verify, done',
  },
  heapUsed: {
    name: 'iotbench_thread_heap_used_bytes',
    type: 'gauge',
    labels: [],
    perThread: true,
    help: 'V8 heap in use, per thread (main, sim-N, ingest-N, broker, oracle, live-clients-N)',
  },
  externalMemory: {
    name: 'iotbench_thread_external_memory_bytes',
    type: 'gauge',
    labels: [],
    perThread: true,
    help: 'Memory outside the V8 heap that the thread’s JavaScript objects hold (buffers, WebAssembly memory), per thread',
  },
  arrayBuffers: {
    name: 'iotbench_thread_array_buffers_bytes',
    type: 'gauge',
    labels: [],
    perThread: true,
    help: 'ArrayBuffers and Buffers, per thread (part of external memory)',
  },
  wasmMemory: {
    name: 'iotbench_thread_wasm_memory_bytes',
    type: 'gauge',
    labels: [],
    perThread: true,
    help: 'WebAssembly memory of the thread’s HdrHistograms (part of external memory; it never shrinks once grown)',
  },
  loopLag: {
    name: 'iotbench_thread_event_loop_lag_seconds',
    type: 'gauge',
    labels: [],
    perThread: true,
    help: 'Event-loop delay p99 over the thread’s last report interval',
  },
} as const satisfies Record<string, MetricDef>

export type MetricId = keyof typeof METRICS
export type CounterId = { [K in MetricId]: (typeof METRICS)[K]['type'] extends 'counter' ? K : never }[MetricId]
export type HistogramId = { [K in MetricId]: (typeof METRICS)[K]['type'] extends 'histogram' ? K : never }[MetricId]
export type GaugeId = { [K in MetricId]: (typeof METRICS)[K]['type'] extends 'gauge' ? K : never }[MetricId]

/** Label values in the catalogue's label order, joined: the key of one series inside a metric. */
export const seriesKey = (values: readonly string[]): string => values.join('\u0001')
export const seriesLabels = (id: MetricId, key: string): Record<string, string> => {
  const names = METRICS[id].labels as readonly string[]
  if (names.length === 0) return {}
  const values = key.split('\u0001')
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']))
}
