import { discardSessions, mqttJsOptions, type MqttSecurity } from '../transport/mqtt-options.js'
import mqtt, { type MqttClient } from 'mqtt'
import type { Backoff } from './device-queue.js'
import { SendGate } from './back-pressure.js'

export interface BrokerLinkOptions {
  readonly url: string
  /** Credentials and TLS (src/transport/mqtt-options.ts). */
  readonly security?: MqttSecurity
  readonly clientId: string
  /** QoS ≥ 1: a persistent session (clean session 0), kept across reconnects. */
  readonly persistent: boolean
  readonly backoff: Backoff
  /** Called on every (re)connect, once publishing is possible. */
  readonly onConnect: () => void
  /** Called once when an established connection is lost, before reconnecting starts. */
  readonly onLost: () => void
  readonly onError: (message: string) => void
  /** Most QoS 1 publishes in flight (unacknowledged) at once. */
  readonly window: number
}

/**
 * A simulator's connection to the broker, owned by the bench rather than by MQTT.js: each attempt is
 * a fresh MQTT.js client with automatic reconnects off, retried with exponential backoff and jitter.
 *
 * Why not MQTT.js's own reconnect: it resends its in-flight store one message per PUBACK round trip
 * and queues every new publish behind that replay (mqttjs/MQTT.js#1086), a replay cut by another
 * disconnect discards the queued publishes (#2015), and under a fault schedule we saw the replay stall
 * for good with thousands of readings unacknowledged. Here the simulator knows which of its readings
 * are unacknowledged when the connection dies and republishes them itself, first and in seq order,
 * on the resumed session (at least once; the ingest drops the duplicates by (device, seq)).
 */
export class BrokerLink {
  private client: MqttClient | undefined
  private timer: NodeJS.Timeout | undefined
  private ending = false
  private lastError = ''
  private up = false
  /** Established connections so far (the first one included). */
  connections = 0

  /** Back-pressure on the current connection's socket (src/sim/back-pressure.ts). */
  readonly gate: SendGate

  constructor(private readonly o: BrokerLinkOptions) {
    this.gate = new SendGate(() => this.client?.stream, o.window)
  }

  get connected(): boolean {
    return this.up && this.client?.connected === true
  }

  /** Connects, retrying until it works or `timeoutMs` passes. */
  start(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const give = setTimeout(() => {
        void this.end()
        reject(
          new Error(
            `no connection to the broker at ${this.o.url} within ${timeoutMs / 1000} s${this.lastError ? ` (${this.lastError})` : ''}`,
          ),
        )
      }, timeoutMs)
      this.firstConnect = () => {
        clearTimeout(give)
        resolve()
      }
      this.attempt()
    })
  }

  private firstConnect: (() => void) | undefined

  private attempt(): void {
    if (this.ending) return
    const c = mqtt.connect(this.o.url, {
      ...mqttJsOptions(this.o.security),
      clientId: this.o.clientId,
      protocolVersion: 4,
      clean: !this.o.persistent,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: 30,
    })
    this.client = c
    c.on('error', (err) => {
      if (err.message !== this.lastError) this.o.onError(err.message) // one line per distinct error
      this.lastError = err.message
    })
    c.once('connect', () => {
      if (this.client !== c) return
      this.up = true
      this.connections++
      this.lastError = ''
      this.o.backoff.reset()
      this.o.onConnect()
      this.firstConnect?.()
      this.firstConnect = undefined
    })
    c.once('close', () => {
      if (this.client !== c || this.ending) return
      this.gate.reset()
      if (this.up) {
        this.up = false
        this.o.onLost()
      }
      c.removeAllListeners('connect')
      c.on('error', () => undefined)
      c.end(true)
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.attempt()
      }, this.o.backoff.next())
    })
  }

  /**
   * Publishes; `done` runs at PUBACK (QoS 1) or once the socket took the bytes (QoS 0). Callers check
   * `gate.open()` first. At QoS 0 no callback goes to MQTT.js: it would add a 'drain' listener per
   * publish on a congested socket; the gate counts the write instead, with one listener.
   */
  publish(topic: string, payload: string | Buffer, qos: 0 | 1, done: () => void): void {
    const c = this.client
    if (!c) return
    if (qos === 0) {
      c.publish(topic, payload, { qos })
      if (this.client === c && c.connected) this.gate.written(done)
      return
    }
    this.gate.sent()
    c.publish(topic, payload, { qos }, (err) => {
      // An acknowledgement counts only on the connection that is current; a dead one's callbacks are errors.
      if (this.client !== c) return
      this.gate.acked()
      if (!err) done()
    })
  }

  async end(): Promise<void> {
    this.ending = true
    if (this.timer) clearTimeout(this.timer)
    const c = this.client
    this.up = false
    if (c) await c.endAsync(true).catch(() => undefined)
    // Leave no persistent session on the broker: a clean-session connect discards it (MQTT 3.1.1 §3.1.2.4).
    // (The main thread removes them again at the run's end, for a thread that never got here.)
    if (this.o.persistent) await discardSessions(this.o.url, this.o.security, [this.o.clientId]) // a broker that is gone has nothing to clean
  }
}
