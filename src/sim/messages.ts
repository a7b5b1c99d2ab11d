import type { MessagePort } from 'node:worker_threads'
import type { ThreadSnapshot } from '../metrics/thread-metrics.js'
import type { GeneratorContext } from './generator.js'
import type { ReplayRef } from './replay.js'
import type { Schedule } from './schedule.js'
import type { MqttSecurity } from '../transport/mqtt-options.js'

/** One piscina task: publish the readings of devices [from, to) on the schedule. */
export interface SimTask {
  readonly worker: number
  readonly mqttUrl: string
  /** Credentials and TLS (holds the password: never log it). */
  readonly mqttSecurity?: MqttSecurity
  readonly clientId: string
  readonly topicPrefix: string
  readonly qos: 0 | 1
  readonly ctx: GeneratorContext
  /** Publish this recorded trace instead of generating (the fleet and readings per device are the trace's). */
  readonly replay?: ReplayRef
  readonly schedule: Schedule
  readonly devices: readonly [from: number, to: number]
  /**
   * How long after the planned end of the load (t0 + the schedule's length) publishing and waiting for
   * acknowledgements may go on: at that deadline the thread stops, whatever did not finish.
   */
  readonly drainTimeoutMs: number
  /** Most QoS 1 publishes in flight (unacknowledged) per connection: the back-pressure window. */
  readonly publishWindow: number
  /** Readings each device buffers while it cannot publish, and what a full queue drops. */
  readonly deviceQueue: number
  readonly deviceQueuePolicy: 'drop-oldest' | 'drop-newest'
  /** One MQTT connection per device instead of one per thread (src/sim/connections.ts). */
  readonly connections?: 'per-thread' | 'per-device'
  /** Loopback source addresses the per-device connections are spread over. */
  readonly sourceAddresses?: number
  readonly progress: MessagePort
}

/**
 * Main → simulator, on the task's port: every thread is connected, the schedule starts at t0Ms; or the
 * run was interrupted: publish only seqs below `perDevice` (a whole round, so every device stops at the
 * same seq and the shortened run is a run with fewer readings per device).
 */
export type ToSim = { readonly kind: 'start'; readonly t0Ms: number } | { readonly kind: 'stop'; readonly perDevice: number }

export type FromSim =
  | { readonly kind: 'ready'; readonly worker: number }
  | { readonly kind: 'progress'; readonly worker: number; readonly sent: number; readonly acked: number; readonly metrics?: ThreadSnapshot }
  | { readonly kind: 'error'; readonly worker: number; readonly message: string }

/** Readings of one device that were published but never acknowledged: seqs [from, to). */
export type UnackedRange = readonly [device: number, from: number, to: number]

export interface SimResult {
  readonly worker: number
  readonly devices: readonly [from: number, to: number]
  readonly published: number
  readonly acked: number
  readonly unacked: readonly UnackedRange[]
  /** Actual minus intended send time, encoded HdrHistogram (µs). */
  readonly scheduleLag: string
  /** Intended send time to PUBACK, encoded HdrHistogram (µs). */
  readonly ackLatency: string
  readonly firstSendMs: number
  readonly lastSendMs: number
  /** When the last acknowledgement (QoS 1: PUBACK; QoS 0: socket write) arrived; 0 if none did. */
  readonly lastAckMs: number
  /** What had not finished when the thread's deadline (planned end of the load + drain timeout) came. */
  readonly unfinished?: string
  /** The thread's final metrics (cumulative): the last progress message may race the task's end. */
  readonly metrics?: ThreadSnapshot
  /** Readings the device queues dropped by their overflow policy (never published). */
  readonly queueDropped?: number
  /** The dropped readings as (device, from, to) ranges. */
  readonly overflow?: readonly UnackedRange[]
  /** Times the connection to the broker was re-established. */
  readonly reconnects?: number
  /** Readings published again after a connection died before their PUBACK. */
  readonly republished?: number
}
