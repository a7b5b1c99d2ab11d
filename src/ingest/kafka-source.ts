import { Kafka, logLevel, type Consumer, type EachBatchPayload } from 'kafkajs'
import { errorMessage } from '../errors.js'
import { newHistogram, recordMs } from '../util/histogram.js'
import type { Batch } from './batch.js'
import type { IngestCore, IngestSource } from './core.js'
import { OffsetLedger, loadOffsets } from './kafka-offsets.js'
import type { FromIngest, IngestWorkerData, KafkaIngest } from './messages.js'
import { FRAMES_HEADER, MAX_FRAMES, unpackFrames } from '../transport/kafka/frames.js'

/** Receive order of a Kafka record: its partition in the high bits, its offset below (per device = Kafka order). */
export const kafkaRx = (partition: number, offset: number): number => partition * 2 ** 40 + offset
/** Receive order of a frame of a packed record (frames.ts): the record's offset, then the frame's index in 12 bits. */
export const packedRx = (partition: number, offset: number, index: number): number => partition * 2 ** 40 + offset * MAX_FRAMES + index

/**
 * One member of the ingest consumer group. Records go through the same core as MQTT messages; the
 * consumed offsets are stored in the batch's transaction (kafka_offsets), and a partition handler
 * returns to kafkajs only once the batch holding its records committed, so kafkajs fetches the next
 * records of a partition only after the last ones are stored, and a rebalance finds nothing of this
 * member uncommitted. On assignment the member seeks to the stored offsets; records below them (Kafka's
 * own committed offset lags the database) are skipped by the ledger.
 */
export class KafkaSource implements IngestSource {
  readonly kafkaHop = newHistogram()
  private readonly consumer: Consumer
  private readonly ledger = new OffsetLedger()
  private assigned: readonly number[] = []
  /** Stored offsets of the latest assignment, loaded once per join. */
  private seeded: Promise<void> = Promise.resolve()
  private joins = 0
  private running = false

  constructor(
    private readonly core: IngestCore,
    private readonly data: IngestWorkerData,
    private readonly kafka: KafkaIngest,
    private readonly post: (m: FromIngest) => void,
  ) {
    // --kafkajs-log info|debug shows kafkajs's own log (group joins, fetches) in the run's log.
    const level = { off: logLevel.NOTHING, info: logLevel.INFO, debug: logLevel.DEBUG, warn: logLevel.WARN }[kafka.log]
    const client = new Kafka({
      clientId: data.clientId,
      brokers: [...kafka.brokers],
      logLevel: level,
      logCreator:
        () =>
        ({ namespace, label, log }) =>
          core.log(
            `kafkajs ${label} ${namespace}: ${log.message} ${JSON.stringify({ ...log, message: undefined, timestamp: undefined, logger: undefined })}`,
          ),
    })
    this.consumer = client.consumer({
      groupId: kafka.groupId,
      sessionTimeout: kafka.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(kafka.sessionTimeoutMs / 10)),
      rebalanceTimeout: Math.max(kafka.sessionTimeoutMs, 30_000),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: Math.min(100, data.batchMs),
    })
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => this.onJoin(e.payload.memberId, e.payload.memberAssignment[kafka.topic] ?? []))
    this.consumer.on(this.consumer.events.CRASH, (e) =>
      core.log(`Kafka consumer crashed (${errorMessage(e.payload.error)}); restart: ${e.payload.restart}`),
    )
  }

  get connected(): boolean {
    return this.running
  }

  async start(): Promise<void> {
    await this.consumer.connect()
    await this.consumer.subscribe({ topic: this.kafka.topic, fromBeginning: true })
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.kafka.partitions,
      eachBatch: (payload) => this.onBatch(payload),
    })
    this.running = true
  }

  /** Partitions kept since the last join keep their ledger (this member's batches are ahead of the database); new ones load. */
  private onJoin(memberId: string, partitions: readonly number[]): void {
    this.joins++
    const kept = new Set(partitions)
    this.ledger.forget(this.assigned.filter((p) => !kept.has(p)))
    this.assigned = [...partitions].sort((a, b) => a - b)
    this.post({ kind: 'assigned', worker: this.data.worker, pid: process.pid, join: this.joins, memberId, partitions: this.assigned })
    this.core.log(`joined the group (join ${this.joins}): partitions ${this.assigned.join(',') || 'none'}`)
    const fresh = partitions.filter((p) => !this.ledger.has(p))
    // Partitions new to this member bring devices another member stored meanwhile: refresh what was
    // stored (de-duplication and prior_seq) before taking their records. The first join follows the
    // worker's own restore.
    const refreshed = this.joins > 1 && fresh.length > 0 ? this.core.restoreTracker() : Promise.resolve()
    this.seeded = refreshed
      .then(() => this.seed(fresh))
      .catch((err: unknown) => this.core.log(`loading stored offsets failed: ${errorMessage(err)}`))
  }

  private async seed(partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return
    const stored = await loadOffsets(await this.core.database(), this.data.runId, this.kafka.topic, this.kafka.partitions)
    for (const p of partitions) {
      const next = stored.get(p) ?? 0
      if (!this.ledger.has(p)) this.ledger.seed(p, next)
      // Start fetching where the database stands, not at Kafka's committed offset (it lags).
      this.consumer.seek({ topic: this.kafka.topic, partition: p, offset: String(next) })
    }
  }

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const p = batch.partition
    await this.seeded
    if (!this.ledger.has(p)) await this.seed([p])
    let handled: string | undefined
    let took: number | undefined
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) break
      const offset = Number(m.offset)
      handled = m.offset
      if (!this.ledger.take(p, offset)) continue // already stored (or in a batch): a redelivery
      took = offset
      const produced = Number(m.timestamp)
      const delivery = { partition: p, offset }
      const value = m.value ?? Buffer.alloc(0)
      if (m.headers?.[FRAMES_HEADER] === undefined) {
        const topic = m.headers?.['mqtt-topic']?.toString() ?? ''
        recordMs(this.kafkaHop, this.core.receive(topic, value, delivery, kafkaRx(p, offset)) - produced)
        continue
      }
      // A packed record is stored whole by one batch: its offset moves with the batch (kafka-offsets.ts),
      // so the batch may fill up only at its last frame.
      unpackFrames(value, (topic, payload, index, last) =>
        recordMs(this.kafkaHop, this.core.receive(topic, payload, delivery, packedRx(p, offset, index), last) - produced),
      )
    }
    if (took !== undefined) {
      const committed = this.core.whenCommitted()
      this.core.flushSoon()
      // Keep the session alive while the database works (a long outage must not cost the partitions).
      for (;;) {
        const done = await Promise.race([committed.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 1000))])
        if (done) break
        await heartbeat().catch(() => undefined)
      }
    }
    if (handled !== undefined) resolveOffset(handled)
    if (took !== undefined) {
      // Informational (lag tools read it); the database's offset is the one a member starts from.
      // Not awaited: a round trip per partition and batch would hold up the next fetch.
      void commitOffsetsIfNecessary({
        topics: [{ topic: this.kafka.topic, partitions: [{ partition: p, offset: String(took + 1) }] }],
      }).catch(() => undefined)
    }
    // A rebalance waits until here: this member's records of the partition are stored by now.
    await heartbeat().catch(() => undefined)
  }

  acknowledge(_batch: Batch): void {
    // Offsets went into the batch's transaction; handlers waiting on the batch resume now.
  }

  hold(_on: boolean): void {
    // Handlers wait for their batch's commit, so a database outage already stops fetching.
  }

  publishAlert(_topic: string, _payload: string): void {
    // Alerts are in the alerts table (written with the batch); the Kafka ingest publishes none to MQTT.
  }

  async close(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.consumer.pause([{ topic: this.kafka.topic }])
    await this.consumer.disconnect()
  }
}
