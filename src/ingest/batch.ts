import { randomUUID } from 'node:crypto'
import { KINDS, KIND_NAMES, type Kind } from '../kinds.js'
import { BinaryCopyWriter } from './copy-binary.js'
import type { DecodedReading } from './decode.js'
import type { AlertEvent } from '../alerts/engine.js'
import { addOffset, type OffsetRange } from './kafka-offsets.js'

export interface DeadLetter {
  readonly received: number
  readonly topic: string
  readonly payload: Buffer
  readonly reason: string
}

/**
 * Columns every reading has, then the kind's own fields (sql/001_core.sql; prior_seq, the device's
 * highest seq stored before this reading, sql/005_fast_verify.sql).
 */
export const COMMON_COLUMNS = ['run_id', 'device', 'seq', 'ts', 'sent', 'received', 'rx', 'prior_seq'] as const
export const copyColumns = (kind: Kind): string[] => [...COMMON_COLUMNS, ...KINDS[kind].fields.map((f) => f.name)]

/**
 * One batch being filled: rows encoded straight into a binary COPY stream per kind, dead letters, and
 * the packet ids to acknowledge once the batch has committed (in receive order).
 */
export class Batch {
  readonly writers: Record<Kind, BinaryCopyWriter> = {
    collar: new BinaryCopyWriter(),
    milk: new BinaryCopyWriter(),
    chiller: new BinaryCopyWriter(),
  }
  deadLetters: DeadLetter[] = []
  /** Raises and clears of the alert rules for readings in this batch, written in its transaction. */
  alerts: AlertEvent[] = []
  /** Rule state of the devices this batch touched, as of its last reading (device → JSON). */
  alertStates = new Map<string, string>()
  /** Devices with readings in this batch. */
  readonly devices = new Set<string>()
  ackIds: number[] = []
  ackConnections: number[] = []
  /** Kafka transport: per partition, the offsets this batch holds (stored with it, see kafka-offsets.ts). */
  offsets = new Map<number, OffsetRange>()
  /** Called once the batch committed (or with the error that ended it): Kafka handlers wait on this. */
  waiters: Array<(err?: Error) => void> = []
  /** Intended send times of the rows, for the end-to-end latency recorded at commit. */
  sentTimes: number[] = []
  /** The accepted readings, kept only when the live feed is on (handed over after the commit). */
  live: DecodedReading[] = []
  rows = 0
  openedAt = 0
  /** Written with the batch (ingest_batches), so a retry after an unknown COMMIT outcome can tell. */
  id = randomUUID()

  constructor(private readonly runId: number) {}

  get size(): number {
    return this.rows + this.deadLetters.length
  }

  reset(): void {
    for (const k of KIND_NAMES) this.writers[k].reset()
    this.deadLetters = []
    this.alerts = []
    this.alertStates = new Map()
    this.devices.clear()
    this.ackIds = []
    this.ackConnections = []
    this.offsets = new Map()
    this.waiters = []
    this.sentTimes = []
    this.live = []
    this.rows = 0
    this.openedAt = 0
    this.id = randomUUID()
  }

  /** `priorSeq`: the device's highest seq stored before this reading (−1 for its first), in receive order. */
  addReading(r: DecodedReading, received: number, rx: number, priorSeq: number): void {
    const w = this.writers[r.kind]
    const fields = KINDS[r.kind].fields
    w.startRow(COMMON_COLUMNS.length + fields.length)
    w.int4(this.runId)
    w.text(r.device)
    w.int4(r.seq)
    w.timestamptz(r.ts)
    w.timestamptz(r.sent)
    w.timestamptz(received)
    w.int8(rx)
    w.int4(priorSeq)
    for (let i = 0; i < fields.length; i++) {
      const v = r.values[i]
      switch (fields[i].type) {
        case 'float8':
          w.float8(v as number)
          break
        case 'int4':
          w.int4(v as number)
          break
        case 'bool':
          w.bool(v as boolean)
          break
      }
    }
    this.sentTimes.push(r.sent)
    this.devices.add(r.device)
    this.rows++
  }

  addDeadLetter(d: DeadLetter): void {
    this.deadLetters.push(d)
  }

  addOffset(partition: number, offset: number): void {
    addOffset(this.offsets, partition, offset)
  }

  /** Tells everyone waiting on this batch that it committed (no error) or never will. */
  settle(err?: Error): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w(err)
  }

  addAck(messageId: number, connection: number): void {
    this.ackIds.push(messageId)
    this.ackConnections.push(connection)
  }
}
