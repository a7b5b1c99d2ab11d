/**
 * The run's time series, one point a second (result.json `timeline`): what the report's plots draw.
 * Counts are cumulative since the load started; latencies are those of the readings committed in
 * that second, from the ingest threads' HdrHistograms merged exactly.
 */
export interface TimelinePoint {
  /** Seconds since the load started. */
  readonly t: number
  readonly phase: string
  readonly offered: number
  readonly sent: number
  readonly acked: number
  readonly ingested: number
  readonly deadLetters: number
  readonly dbRetries: number
  readonly alerts: number
  /** Readings committed in this second that the latencies below describe. */
  readonly latencyCount: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

/** Something that happened at a moment (or over a window) of the run: drawn on the alerts and faults timeline. */
export interface TimelineEvent {
  readonly t: number
  readonly type: 'alert' | 'dead-letter' | 'db-retry' | 'spike' | 'outage' | 'fault'
  readonly name: string
  readonly count: number
  /** For windows (spikes, outages): how long. */
  readonly seconds?: number
}

export interface RunTimeline {
  readonly intervalS: number
  readonly points: readonly TimelinePoint[]
  readonly events: readonly TimelineEvent[]
}

/** Per kind, what each hop counted over the run (from the metrics, summed over threads). */
export type CountsByKind = Readonly<
  Record<
    string,
    {
      readonly offered: number
      readonly published: number
      readonly acked: number
      readonly ingested: number
      readonly deadLetters: number
    }
  >
>

/** The end-to-end latency distribution as a percentile spectrum (HdrHistogram style). */
export interface LatencyDistribution {
  readonly endToEnd: ReadonlyArray<{ readonly percentile: number; readonly ms: number }>
  readonly brokerHop: ReadonlyArray<{ readonly percentile: number; readonly ms: number }>
}
