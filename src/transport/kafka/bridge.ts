import { Kafka, logLevel, type Message, type Producer } from 'kafkajs'
import { errorMessage } from '../../errors.js'
import { parseTopic } from '../../ingest/decode.js'
import { subscribe, type MqttSubscriber, type MqttSubscription } from '../mqtt-subscriber.js'
import { FRAMES_HEADER, MAX_FRAMES, MAX_RECORD_BYTES, frameBytes, packFrames, partitionOf } from './frames.js'

export interface BridgeOptions extends MqttSubscription {
  readonly brokers: readonly string[]
  readonly kafkaTopic: string
  /** Most MQTT messages in one produce request. */
  readonly maxBatch: number
  /**
   * Pack the messages of one partition and request into one record (frames.ts) over this many
   * partitions: the run's own topic. Without it each message is a record keyed by device with an
   * `mqtt-topic` header, as `iotbench bridge` writes for other consumers.
   */
  readonly packPartitions?: number
  readonly log: (line: string) => void
}

/**
 * The producer settings that make the bridge's Kafka writes exactly-once per send: idempotent (the broker
 * drops a retried batch it already has), which kafkajs allows only with acks from all in-sync replicas
 * (-1, set on every send) and one request in flight (KIP-98; more would let a retry reorder batches).
 */
export const BRIDGE_PRODUCER = { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false } as const
export const BRIDGE_ACKS = -1

export interface BridgeStats {
  received: number
  produced: number
  acked: number
  sendErrors: number
}

interface Pending {
  readonly key: string
  /** The MQTT topic and payload. */
  readonly topic: string
  readonly payload: Buffer
  readonly messageId: number | undefined
  readonly connection: number
  /** Packed: the partition of the key, and the message's size as a frame (counted once, on receipt). */
  readonly partition: number
  readonly bytes: number
}

/**
 * MQTT telemetry into a Kafka topic keyed by device, acknowledging each MQTT message only once Kafka
 * holds its record (idempotent producer, acks from all in-sync replicas). One produce request is in
 * flight at a time: several concurrent send() calls reordered records of one key even with
 * idempotence and maxInFlightRequests 1 (DESIGN.md: 63k of 200k out of order), so order per device
 * is kept by sending batches one after another. Packed (the run's topic), a request carries one record
 * per partition holding that partition's messages in receive order (frames.ts).
 */
export class KafkaBridge {
  readonly stats: BridgeStats = { received: 0, produced: 0, acked: 0, sendErrors: 0 }
  private readonly producer: Producer
  private readonly subscriber: MqttSubscriber
  private pending: Pending[] = []
  private sending: Promise<void> | undefined
  private closing = false
  private readonly partitionOf: ((key: string) => number) | undefined

  constructor(private readonly opts: BridgeOptions) {
    const kafka = new Kafka({ clientId: opts.clientId, brokers: [...opts.brokers], logLevel: logLevel.NOTHING })
    this.producer = kafka.producer({ ...BRIDGE_PRODUCER })
    if (opts.packPartitions !== undefined) this.partitionOf = partitionOf(opts.packPartitions)
    this.subscriber = subscribe(opts, {
      onPublish: (topic, payload, messageId, connection) => this.onPublish(topic, payload, messageId, connection),
      onConnectionLost: (reason) => opts.log(`bridge: ${reason}; reconnecting`),
      log: (line) => opts.log(`bridge: ${line}`),
    })
  }

  /** Records received and not yet in Kafka. */
  get pendingCount(): number {
    return this.pending.length
  }

  async start(): Promise<void> {
    await this.producer.connect()
    await this.subscriber.start()
  }

  private onPublish(mqttTopic: string, payload: Buffer, messageId: number | undefined, connection: number): void {
    this.stats.received++
    // Keyed by the device named in the topic: the bridge moves bytes and never parses payloads, so a
    // malformed one reaches the ingest (and its dead letters) like any other.
    const key = parseTopic(mqttTopic, this.opts.topicPrefix)?.device ?? mqttTopic
    const packed = this.partitionOf !== undefined
    this.pending.push({
      key,
      topic: mqttTopic,
      payload,
      messageId,
      connection,
      partition: packed ? this.partitionOf(key) : -1,
      bytes: packed ? frameBytes({ topic: mqttTopic, payload }) : 0,
    })
    if (!this.sending) this.sending = this.sendLoop()
  }

  private async sendLoop(): Promise<void> {
    let failures = 0
    while (this.pending.length > 0) {
      const batch = this.nextBatch()
      try {
        await this.producer.send({ topic: this.opts.kafkaTopic, acks: BRIDGE_ACKS, messages: this.records(batch) })
      } catch (err) {
        this.stats.sendErrors++
        failures++
        this.subscriber.hold(true) // the broker keeps what we have not acknowledged
        const delay = Math.min(5000, 100 * 2 ** failures)
        this.opts.log(`bridge: produce failed (${errorMessage(err)}); retry in ${delay} ms`)
        await new Promise((r) => setTimeout(r, delay))
        if (this.closing && failures > 5) break
        continue
      }
      if (failures > 0) this.subscriber.hold(false)
      failures = 0
      this.pending.splice(0, batch.length)
      this.stats.produced += batch.length
      this.ackInOrder(batch)
    }
    this.sending = undefined
  }

  /**
   * The oldest pending messages, at most maxBatch of them; packed, also up to the first message whose
   * partition's record is full (MAX_FRAMES, MAX_RECORD_BYTES), so each partition gets one record.
   */
  private nextBatch(): Pending[] {
    const most = Math.min(this.opts.maxBatch, this.pending.length)
    if (!this.partitionOf) return this.pending.slice(0, most)
    const frames = new Map<number, { count: number; bytes: number }>()
    let n = 0
    for (; n < most; n++) {
      const p = this.pending[n]
      const bytes = p.bytes
      const record = frames.get(p.partition)
      if (!record) frames.set(p.partition, { count: 1, bytes })
      else if (record.count >= MAX_FRAMES || record.bytes + bytes > MAX_RECORD_BYTES) break
      else {
        record.count++
        record.bytes += bytes
      }
    }
    return this.pending.slice(0, n)
  }

  /** One record per message, or (packed) one per partition, its messages in receive order. */
  private records(batch: readonly Pending[]): Message[] {
    if (!this.partitionOf) return batch.map((p) => ({ key: p.key, value: p.payload, headers: { 'mqtt-topic': p.topic } }))
    const byPartition = new Map<number, Pending[]>()
    for (const p of batch) {
      const list = byPartition.get(p.partition)
      if (list) list.push(p)
      else byPartition.set(p.partition, [p])
    }
    return [...byPartition].map(([partition, frames]) => ({
      partition,
      value: packFrames(frames),
      headers: { [FRAMES_HEADER]: String(frames.length) },
    }))
  }

  private ackInOrder(batch: readonly Pending[]): void {
    let ids: number[] = []
    let conn = -1
    for (const p of batch) {
      if (p.messageId === undefined) continue
      if (p.connection !== conn && ids.length) {
        this.subscriber.ack(ids, conn)
        ids = []
      }
      conn = p.connection
      ids.push(p.messageId)
      this.stats.acked++
    }
    if (ids.length) this.subscriber.ack(ids, conn)
  }

  /** Waits until everything received so far is in Kafka and acknowledged, then closes both ends. */
  async stop(): Promise<BridgeStats> {
    this.closing = true
    while (this.sending) await this.sending
    await this.subscriber.close()
    await this.producer.disconnect()
    return this.stats
  }
}
