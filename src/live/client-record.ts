import type { LiveEvent } from './protocol.js'

/**
 * What one simulated dashboard client received, kept small enough for thousands of clients over long
 * runs: per device the first and last seq, the count, the seq ranges it skipped, and the first
 * duplicate or out-of-order seq; per device a count and an order-independent digest of its alerts;
 * per farm the last position (the resume cursor). Never the events themselves.
 */
export interface DeviceRecord {
  first: number
  last: number
  count: number
  /** Seq ranges [from, to] skipped between two received seqs (bounded: see MAX_GAPS). */
  gaps: Array<[number, number]>
  gapsTruncated: boolean
  /** Readings whose seq was ≤ the last one received (a duplicate or a reorder). */
  repeats: number
  firstRepeat: number | null
}

export interface AlertRecord {
  count: number
  /** Sum of alertKey hashes mod 2^32: equal sets of alerts give equal digests. */
  digest: number
  lastSeq: number
  outOfOrder: number
}

export interface PositionFault {
  readonly farm: string
  readonly expected: number
  readonly got: number
}

export const MAX_GAPS = 1000

/** FNV-1a of an alert's identity, for the digest. */
export function alertHash(rule: string, event: string, seq: number): number {
  let h = 0x811c9dc5
  const s = `${rule}|${event}|${seq}`
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

export class ClientRecord {
  readonly devices = new Map<string, DeviceRecord>()
  readonly alerts = new Map<string, AlertRecord>()
  /** Per farm, the last position received: what a reconnect sends as its cursor. */
  readonly cursors = new Map<string, number>()
  /** Frames whose first position was not cursor + 1 (a gap or an overlap in the feed itself). */
  readonly positionFaults: PositionFault[] = []
  events = 0

  constructor(farms: readonly string[]) {
    for (const f of farms) this.cursors.set(f, 0)
  }

  /** One events frame; `onReading` gets each reading (for latency). */
  add(farm: string, pos: number, events: readonly LiveEvent[], onReading?: (sent: number) => void): void {
    const cursor = this.cursors.get(farm) ?? 0
    if (pos !== cursor + 1 && this.positionFaults.length < 100) this.positionFaults.push({ farm, expected: cursor + 1, got: pos })
    for (const e of events) {
      this.events++
      if (e.type === 'reading') {
        this.reading(e.device, e.seq)
        onReading?.(e.sent)
      } else {
        let a = this.alerts.get(e.device)
        if (!a) this.alerts.set(e.device, (a = { count: 0, digest: 0, lastSeq: -1, outOfOrder: 0 }))
        a.count++
        a.digest = (a.digest + alertHash(e.rule, e.event, e.seq)) >>> 0
        if (e.seq < a.lastSeq) a.outOfOrder++
        a.lastSeq = Math.max(a.lastSeq, e.seq)
      }
    }
    this.cursors.set(farm, Math.max(cursor, pos + events.length - 1))
  }

  private reading(device: string, seq: number): void {
    const d = this.devices.get(device)
    if (!d) {
      this.devices.set(device, { first: seq, last: seq, count: 1, gaps: [], gapsTruncated: false, repeats: 0, firstRepeat: null })
      return
    }
    if (seq <= d.last) {
      d.repeats++
      d.firstRepeat ??= seq
      return
    }
    if (seq > d.last + 1) {
      if (d.gaps.length < MAX_GAPS) d.gaps.push([d.last + 1, seq - 1])
      else d.gapsTruncated = true
    }
    d.last = seq
    d.count++
  }
}

/** A record as it crosses threads and lands in live-clients.jsonl. */
export interface ClientReport {
  readonly client: number
  readonly cls: 'steady' | 'reconnecting'
  readonly farms: readonly string[]
  readonly connects: number
  /** Close codes the client saw, with counts (1006: the connection dropped; 4003: slow client …). */
  readonly closes: Readonly<Record<string, number>>
  readonly events: number
  readonly cursors: Readonly<Record<string, number>>
  readonly ended: boolean
  readonly error: string | null
  readonly positionFaults: readonly PositionFault[]
  readonly devices: Readonly<Record<string, DeviceRecord>>
  readonly alerts: Readonly<Record<string, AlertRecord>>
}
