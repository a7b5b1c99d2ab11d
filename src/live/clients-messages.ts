import type { ThreadSnapshot } from '../metrics/thread-metrics.js'
import type { ClientReport } from './client-record.js'

/** Typed messages between the main thread and a thread of simulated dashboard clients. */
export interface ClientSpec {
  readonly client: number
  readonly farms: readonly string[]
  /** Milliseconds after its first events frame at which the client drops its connection (abruptly) and resumes. */
  readonly dropsAtMs: readonly number[]
}

export interface ClientsWorkerData {
  readonly url: string
  readonly clients: readonly ClientSpec[]
  /** Pause between a dropped connection and the resume, so the client really misses events. */
  readonly reconnectDelayMs: number
}

export type ToClients = { readonly kind: 'finish'; readonly deadlineMs: number }

export type FromClients =
  | { readonly kind: 'ready' }
  | { readonly kind: 'log'; readonly line: string }
  /** Once a second: the thread's memory and event-loop lag (the soak's per-thread drift). */
  | { readonly kind: 'metrics'; readonly metrics: ThreadSnapshot }
  | {
      readonly kind: 'done'
      readonly reports: readonly ClientReport[]
      /** Sensor-to-client latency (intended send → receipt), encoded HdrHistogram (µs), per client class. */
      readonly latency: { readonly steady: string; readonly reconnecting: string }
    }
