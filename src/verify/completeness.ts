import { deviceAt, fleetSize, type Device } from '../fleet.js'
import { KINDS, type FieldValue, type Kind } from '../kinds.js'
import { oracleFor, type Oracle } from '../sim/oracle.js'
import type { RunManifest, Sample } from './types.js'
import { UnackedIndex } from './unacked.js'

/** A stored reading as the verifier reads it back. */
export interface StoredReading {
  readonly device: string
  readonly seq: number
  readonly ts: number
  readonly values: readonly (FieldValue | null)[]
}

const SAMPLES = 20

/**
 * Device ids lo ≤ id < hi in code-point order (what ORDER BY … COLLATE "C" gives for ASCII ids), and
 * when `only` is given, just those ids (the devices the set-based pass could not clear).
 */
export interface DeviceRange {
  readonly lo?: string
  readonly hi?: string
  readonly only?: readonly string[]
}
export const inRange = (id: string, r: DeviceRange, only = r.only && new Set(r.only)): boolean =>
  (r.lo === undefined || id >= r.lo) && (r.hi === undefined || id < r.hi) && (only === undefined || only.has(id))

/** Classes of Jepsen's set checker, plus value integrity (P2) over the same pass. */
export interface SetCounts {
  expected: number
  ok: number
  lost: number
  unacknowledgedLost: number
  recovered: number
  duplicated: number
  unexpected: number
  corrupted: number
}

export interface SetReport {
  readonly counts: SetCounts
  readonly lost: Sample[]
  readonly duplicated: Sample[]
  readonly unexpected: Sample[]
  readonly corrupted: Sample[]
  /** Devices with lost readings, most first: [device, how many]. */
  readonly lostByDevice: Array<[string, number]>
}

/**
 * P1 completeness and P2 integrity for one sensor kind, in one streaming pass. Rows must arrive sorted
 * by (device in code-point order, seq); the expected stream is regenerated from the seed, never read
 * from a log of what was sent.
 */
export class SetChecker {
  private readonly devices: Device[]
  private readonly byId = new Map<string, Device>()
  private readonly unacked: UnackedIndex
  private readonly oracle: Oracle
  private next = 0 // index into devices of the next device not yet closed
  private current: Device | undefined
  private expectSeq = 0
  /** The seq of the previous row of the current device (undefined before its first row). */
  private lastSeq: number | undefined
  private readonly lostPerDevice = new Map<string, number>()
  readonly report: SetReport

  /** `range`: only devices with lo ≤ id < hi (code-point order; either bound may be absent), for a share of the work. */
  constructor(
    private readonly manifest: RunManifest,
    readonly kind: Kind,
    range: DeviceRange = {},
  ) {
    const all = Array.from({ length: fleetSize(manifest.fleet) }, (_, i) => deviceAt(manifest.fleet, i))
    const only = range.only && new Set(range.only)
    this.devices = all.filter((d) => d.kind === kind && inRange(d.id, range, only)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    for (const d of this.devices) this.byId.set(d.id, d)
    this.unacked = new UnackedIndex(manifest.unacked)
    this.oracle = oracleFor(manifest)
    this.report = {
      counts: {
        expected: this.devices.length * manifest.perDevice,
        ok: 0,
        lost: 0,
        unacknowledgedLost: 0,
        recovered: 0,
        duplicated: 0,
        unexpected: 0,
        corrupted: 0,
      },
      lost: [],
      duplicated: [],
      unexpected: [],
      corrupted: [],
      lostByDevice: [],
    }
  }

  add(row: StoredReading): void {
    const c = this.report.counts
    const device = this.byId.get(row.device)
    if (!device) {
      c.unexpected++
      if (this.report.unexpected.length < SAMPLES)
        this.report.unexpected.push({ device: row.device, seq: row.seq, detail: 'not a device of this run' })
      return
    }
    if (device !== this.current) this.openDevice(device)
    if (row.seq === this.lastSeq) {
      c.duplicated++
      if (this.report.duplicated.length < SAMPLES) this.report.duplicated.push({ device: row.device, seq: row.seq })
      return
    }
    if (row.seq >= this.manifest.perDevice || row.seq < 0) {
      c.unexpected++
      if (this.report.unexpected.length < SAMPLES)
        this.report.unexpected.push({ device: row.device, seq: row.seq, detail: `seq beyond the ${this.manifest.perDevice} published` })
      this.lastSeq = row.seq
      return
    }
    this.missingUpTo(device, row.seq)
    this.lastSeq = row.seq
    this.expectSeq = row.seq + 1
    if (this.unacked.has(device.index, row.seq)) c.recovered++
    else c.ok++
    const diff = this.compare(device, row)
    if (diff) {
      c.corrupted++
      if (this.report.corrupted.length < SAMPLES) this.report.corrupted.push({ device: row.device, seq: row.seq, detail: diff })
    }
  }

  private compare(device: Device, row: StoredReading): string | undefined {
    const expected = this.oracle.expected(device, row.seq)
    if (expected.ts !== row.ts) return `ts ${row.ts} ≠ expected ${expected.ts}`
    const fields = KINDS[device.kind].fields
    for (let i = 0; i < fields.length; i++) {
      const want = expected.values[fields[i].name]
      if (row.values[i] !== want) return `${fields[i].name} ${String(row.values[i])} ≠ expected ${String(want)}`
    }
    return undefined
  }

  /** Devices sorted before `device` that never appeared lose everything; then switch to `device`. */
  private openDevice(device: Device): void {
    if (this.current) this.missingUpTo(this.current, this.manifest.perDevice)
    while (this.next < this.devices.length && this.devices[this.next] !== device) {
      const skipped = this.devices[this.next]
      this.expectSeq = 0
      this.missingUpTo(skipped, this.manifest.perDevice)
      this.next++
    }
    this.next++
    this.current = device
    this.expectSeq = 0
    this.lastSeq = undefined
  }

  private missingUpTo(device: Device, endSeq: number): void {
    const c = this.report.counts
    for (let seq = this.expectSeq; seq < endSeq; seq++) {
      if (this.unacked.has(device.index, seq)) {
        c.unacknowledgedLost++
        continue
      }
      c.lost++
      this.lostPerDevice.set(device.id, (this.lostPerDevice.get(device.id) ?? 0) + 1)
      if (this.report.lost.length < SAMPLES) this.report.lost.push({ device: device.id, seq })
    }
    this.expectSeq = Math.max(this.expectSeq, endSeq)
  }

  finish(): SetReport {
    if (this.current) this.missingUpTo(this.current, this.manifest.perDevice)
    while (this.next < this.devices.length) {
      this.expectSeq = 0
      this.missingUpTo(this.devices[this.next], this.manifest.perDevice)
      this.next++
    }
    this.current = undefined
    this.report.lostByDevice.push(...[...this.lostPerDevice.entries()].sort((a, b) => b[1] - a[1]).slice(0, SAMPLES))
    return this.report
  }
}
