import type pg from 'pg'
import { connect } from '../db/connect.js'
import { isRetriableDbError } from '../db/errors.js'
import { errorMessage } from '../errors.js'
import { epochClock } from '../util/clock.js'
import { encodeHistogram, newHistogram, recordMs } from '../util/histogram.js'
import { Batch } from './batch.js'
import { batchCommitted, commitBatch } from './commit.js'
import { SeqTracker } from './dedupe.js'
import { copyRows } from '../db/copy-rows.js'
import { KINDS, KIND_NAMES } from '../kinds.js'
import { decodeTelemetry, type DecodedReading } from './decode.js'
import { NO_FAULTS, type FaultBatch, type IngestFaultSeam } from './fault-seam.js'
import type { FromIngest, IngestWorkerData } from './messages.js'
import { AlertEngine, type AlertEvent } from '../alerts/engine.js'
import { IngestMetrics } from '../metrics/ingest-metrics.js'
import { StaleOffsetsError } from './kafka-offsets.js'

/**
 * Where an ingest worker's messages come from: MQTT subscriptions or a Kafka consumer group. The
 * source hands every message to IngestCore.receive and acknowledges upstream (PUBACKs, offsets) only
 * when the core says the batch holding it committed. Everything else — decode, de-duplication, alert
 * rules, batching, COPY, commit and retry — is the core's, the same for every source.
 */
export interface IngestSource {
  readonly connected: boolean
  start(): Promise<void>
  /** The batch committed: acknowledge its messages upstream, in order. */
  acknowledge(batch: Batch): void
  /** Stop taking messages while the database cannot take a batch (true), or take them again (false). */
  hold(on: boolean): void
  publishAlert(topic: string, payload: string): void
  close(): Promise<void>
}

/** Where a message came from, for its acknowledgement once its batch committed. */
export type Delivery =
  { readonly messageId: number | undefined; readonly connection: number } | { readonly partition: number; readonly offset: number }

export class IngestCore {
  readonly clock = epochClock
  readonly endToEnd = newHistogram()
  readonly brokerHop = newHistogram()
  readonly recent = newHistogram()
  readonly deadLetterReasons: Record<string, number> = {}
  readonly counters = { received: 0, committedRows: 0, deadLetters: 0, batches: 0, retries: 0, duplicatesSkipped: 0 }
  readonly metrics: IngestMetrics
  alertsRaised = 0
  private tracker = new SeqTracker()
  private alerts: AlertEngine
  /** Receive order across this worker; the high bits keep workers apart (Kafka: partition and offset). */
  private rx: number
  private filling: Batch
  private spare: Batch
  private flushing: Promise<void> | undefined
  private batchTimer: NodeJS.Timeout | undefined
  private stopping = false
  private failed = false
  /**
   * Set once the database connection is closed at stop: a reading that arrives later (the source is
   * closed after the drain) is not written. Before, its batch opened a new connection that kept the
   * thread alive for good and the run never reached its verdict.
   */
  private closed = false
  private db: pg.Client | undefined
  /** Where the test-only faults act (NO_FAULTS: nowhere). */
  private readonly toBatch: FaultBatch = {
    store: (reading, received, rx) => this.store(reading, received, rx),
    storeAgain: (reading, received) =>
      this.filling.addReading(reading, received, this.rx++, this.tracker.storing(reading.device, reading.seq)),
    deadLetter: (d) => this.filling.addDeadLetter(d),
  }
  source!: IngestSource

  constructor(
    private readonly data: IngestWorkerData,
    private readonly post: (m: FromIngest) => void,
    /** A batch that may not commit because its Kafka partitions moved (the caller rejoins). */
    private readonly onStale: (err: StaleOffsetsError) => void = () => undefined,
    private readonly faults: IngestFaultSeam = NO_FAULTS,
  ) {
    this.metrics = new IngestMetrics(data.topicPrefix)
    this.alerts = new AlertEngine(data.alertRules, this.clock)
    // The next bits keep incarnations of a worker respawned after a fault apart (each later than the last).
    this.rx = data.worker * 2 ** 40 + Math.min(63, data.incarnation ?? 0) * 2 ** 34
    this.filling = new Batch(data.runId)
    this.spare = new Batch(data.runId)
  }

  log(line: string): void {
    this.post({ kind: 'log', worker: this.data.worker, line })
  }

  async database(): Promise<pg.Client> {
    this.db ??= await connect(this.data.databaseUrl, this.data.dbSchema, `iotbench-ingest-${this.data.worker} run ${this.data.runId}`)
    return this.db
  }

  /**
   * One message from the source; `rx` overrides the receive order (Kafka: partition and offset).
   * `mayFill` false keeps a full batch open for the next message (the frames of one packed Kafka record).
   */
  receive(topic: string, payload: Buffer, delivery: Delivery, rx?: number, mayFill = true): number {
    const received = this.clock()
    this.counters.received++
    const decoded = decodeTelemetry(topic, payload, this.data.topicPrefix)
    if (decoded.ok) {
      recordMs(this.brokerHop, received - decoded.reading.sent)
      this.writeReading(decoded.reading, received, rx ?? this.rx++)
    } else {
      this.deadLetterReasons[decoded.reason] = (this.deadLetterReasons[decoded.reason] ?? 0) + 1
      this.filling.addDeadLetter({ received, topic: topic.replace(/\0/g, '\uFFFD'), payload, reason: decoded.reason })
    }
    if ('partition' in delivery) this.filling.addOffset(delivery.partition, delivery.offset)
    else if (delivery.messageId !== undefined) this.filling.addAck(delivery.messageId, delivery.connection)
    if (this.filling.openedAt === 0) {
      this.filling.openedAt = received
      this.batchTimer = setTimeout(() => void this.flush(), this.data.batchMs)
    }
    if (mayFill && this.filling.size >= this.data.batchRows) void this.flush()
    return received
  }

  private flushScheduled = false

  /**
   * Flushes once the current turn of the event loop is over: a Kafka fetch hands every partition's
   * records over in one turn, so they make one batch without waiting for --batch-ms.
   */
  flushSoon(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => {
      this.flushScheduled = false
      void this.flush()
    })
  }

  /** Resolves once the batch now filling has committed (rejects if it never will). */
  whenCommitted(): Promise<void> {
    if (this.failed) return Promise.reject(new Error('the ingest failed'))
    const f = this.filling
    // An empty filling batch means the last message went into the batch being written (or is written).
    const target = f.size > 0 || f.ackIds.length > 0 || f.offsets.size > 0 ? f : this.flushing ? this.spare : undefined
    if (!target) return Promise.resolve()
    return new Promise((resolve, reject) => target.waiters.push((err) => (err ? reject(err) : resolve())))
  }

  private writeReading(reading: DecodedReading, received: number, rx: number): void {
    if (!this.tracker.accept(reading.device, reading.seq)) {
      this.counters.duplicatesSkipped++ // a redelivery of a reading already in a batch: acknowledge, store once
      return
    }
    this.faults.write(reading, received, rx, this.toBatch)
  }

  /** Puts an accepted reading into the filling batch and runs the alert rules on it (never on a redelivery). */
  private store(reading: DecodedReading, received: number, rx: number): void {
    const { data, filling } = this
    filling.addReading(reading, received, rx, this.tracker.storing(reading.device, reading.seq))
    if (data.live) filling.live.push(reading)
    for (const e of this.faults.alerts(reading, this.alerts.evaluate(reading))) filling.alerts.push(e)
  }

  /** Commits the filling batch, then acknowledges its messages. One COPY in flight, so acks leave in order. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing
    if (this.failed || this.closed) return Promise.resolve()
    if (this.filling.size === 0 && this.filling.ackIds.length === 0 && this.filling.offsets.size === 0) {
      this.filling.settle()
      return Promise.resolve()
    }
    if (this.batchTimer) clearTimeout(this.batchTimer)
    this.batchTimer = undefined
    const batch = this.filling
    for (const d of batch.devices) batch.alertStates.set(d, this.alerts.snapshot(d))
    this.filling = this.spare
    this.spare = batch
    this.flushing = (async () => {
      const writeStarted = this.clock()
      await this.faults.beforeCommit()
      await this.commitWithRetry(batch)
      this.publishAlerts(batch.alerts)
      const committedAt = this.clock()
      for (const sent of batch.sentTimes) {
        recordMs(this.endToEnd, committedAt - sent)
        recordMs(this.recent, committedAt - sent)
        this.metrics.endToEnd.observe((committedAt - sent) / 1000)
      }
      this.metrics.committed(
        { collar: batch.writers.collar.rows, milk: batch.writers.milk.rows, chiller: batch.writers.chiller.rows },
        batch.size,
        (committedAt - writeStarted) / 1000,
      )
      for (const d of batch.deadLetters) this.metrics.deadLetter(d.topic, d.reason)
      this.counters.committedRows += batch.rows
      this.counters.deadLetters += batch.deadLetters.length
      this.counters.batches++
      this.source.acknowledge(batch)
      if (this.data.live) this.postLive(batch)
      batch.settle()
      batch.reset()
    })()
      .catch((err: unknown) => {
        this.failed = true // the fatal message has been posted (or the caller rejoins); the batch never commits
        const e = err instanceof Error ? err : new Error(String(err))
        batch.settle(e)
        this.filling.settle(e)
        if (err instanceof StaleOffsetsError) this.onStale(err)
      })
      .finally(() => {
        this.flushing = undefined
        // Readings that arrived meanwhile form the next batch; send it now if it is already due.
        const f = this.filling
        if (f.size > 0 && (f.size >= this.data.batchRows || this.clock() - f.openedAt >= this.data.batchMs || this.stopping))
          void this.flush()
      })
    return this.flushing
  }

  /** Raises go out on {prefix}farm/{farm}/alerts once their batch committed (clears stay in the table). */
  private publishAlerts(events: readonly AlertEvent[]): void {
    for (const e of events) {
      if (e.event !== 'raise') continue
      this.alertsRaised++
      this.metrics.alert(e.rule)
      this.source.publishAlert(
        `${this.data.topicPrefix}farm/${e.device.split('-')[0]}/alerts`,
        JSON.stringify({ device: e.device, kind: e.kind, rule: e.rule, seq: e.seq, ts: e.ts, value: e.value, reading: e.reading }),
      )
    }
  }

  /** The committed batch goes to the live feed (one message a batch; the feed assigns positions). */
  private postLive(batch: Batch): void {
    this.post({ kind: 'live', worker: this.data.worker, readings: this.faults.live(batch.live), alerts: batch.alerts })
  }

  private async commitWithRetry(batch: Batch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const client = await this.database()
        // After a failure the COMMIT may have gone through before the connection died: look, don't guess.
        if (attempt > 0 && (await batchCommitted(client, batch))) {
          this.source.hold(false)
          return
        }
        await commitBatch(client, this.data.runId, this.data.worker, batch, this.data.kafka?.topic)
        if (attempt > 0) this.source.hold(false)
        return
      } catch (err) {
        if (err instanceof StaleOffsetsError) throw err
        const retriable = isRetriableDbError(err) || (err as Error).name === 'InfraError'
        if (!retriable) {
          this.post({
            kind: 'fatal',
            worker: this.data.worker,
            message: `batch of ${batch.size} rows failed and retrying cannot help: ${errorMessage(err)}`,
          })
          throw err
        }
        this.counters.retries++
        // The broker keeps every message of this batch until we acknowledge; stop taking more meanwhile.
        this.source.hold(true)
        const old = this.db
        this.db = undefined
        await old?.end().catch(() => undefined)
        const delay = Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)
        this.log(`database write failed (${errorMessage(err)}); retry ${attempt + 1} in ${Math.round(delay)} ms`)
        await new Promise((r) => setTimeout(r, delay))
      }
    }
  }

  /** Writes what is held and filling; closes the database connection. */
  async drain(): Promise<void> {
    this.stopping = true
    this.faults.release(this.toBatch)
    await this.flush()
    await this.flush()
  }

  async closeDatabase(): Promise<void> {
    this.closed = true
    if (this.batchTimer) clearTimeout(this.batchTimer)
    await this.db?.end().catch(() => undefined)
  }

  /** Ingest lag: the oldest reading held uncommitted, in the filling batch or the one being written. */
  lagSeconds(): number {
    const oldestSent = Math.min(this.filling.sentTimes[0] ?? Infinity, this.spare.sentTimes[0] ?? Infinity)
    return Number.isFinite(oldestSent) ? Math.max(0, this.clock() - oldestSent) / 1000 : 0
  }

  takeRecent(): string {
    const encoded = encodeHistogram(this.recent)
    this.recent.reset()
    return encoded
  }

  /** Readings of this worker's farms the run had already stored at the last restore (what earlier incarnations committed). */
  restoredRows = 0

  /** What this run already stored (a restarted worker resumes without storing anything twice). */
  async restoreTracker(): Promise<void> {
    const client = await this.database()
    const tracker = new SeqTracker()
    const mine = new Set(this.data.filters.map((f) => f.slice(this.data.topicPrefix.length).split('/')[1]))
    let restored = 0
    for (const kind of KIND_NAMES) {
      let device = ''
      let seqs: number[] = []
      const q = `SELECT device, seq FROM ${KINDS[kind].table} WHERE run_id = ${Number(this.data.runId)} ORDER BY device COLLATE "C", seq`
      for await (const [d, s] of copyRows(client, q)) {
        if (d === null) throw new Error(`${KINDS[kind].table}.device is NULL`)
        if (mine.has(d.split('-')[0])) restored++
        if (d !== device) {
          if (seqs.length) tracker.restore(device, seqs)
          device = d
          seqs = []
        }
        seqs.push(Number(s))
      }
      if (seqs.length) tracker.restore(device, seqs)
    }
    this.tracker = tracker
    this.restoredRows = restored
  }

  /** Drops the database connection after a failure, so the next attempt opens a fresh one. */
  resetDatabase(): void {
    const old = this.db
    this.db = undefined
    void old?.end().catch(() => undefined)
  }

  /** Rule state as the last committed batch left it (alert_state): of the given farms, or of every device. */
  async restoreAlerts(farms: readonly string[] | undefined): Promise<void> {
    if (this.alerts.ruleCount === 0) return
    const client = await this.database()
    const r = farms
      ? await client.query<{ device: string; state: unknown }>(
          `SELECT device, state FROM alert_state WHERE run_id = $1 AND split_part(device, '-', 1) = ANY($2::text[])`,
          [this.data.runId, farms],
        )
      : await client.query<{ device: string; state: unknown }>('SELECT device, state FROM alert_state WHERE run_id = $1', [this.data.runId])
    for (const row of r.rows) this.alerts.restore(row.device, JSON.stringify(row.state))
    if (r.rows.length) this.log(`restored the alert rule state of ${r.rows.length} devices`)
  }
}
