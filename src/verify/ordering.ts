import type { Sample } from './types.js'

const SAMPLES = 20

export interface OrderReport {
  rows: number
  outOfOrder: number
  /** Largest (highest seq seen before) − seq over all rows received late. */
  worstDisplacement: number
  readonly samples: Sample[]
}

/**
 * P3 ordering: rows arrive sorted by (device, receive order); a row whose seq is below a seq that the
 * same device delivered earlier was received out of order. Duplicates (equal seq) are P1's business.
 */
export class OrderChecker {
  private device: string | undefined
  private maxSeq = -1
  readonly report: OrderReport = { rows: 0, outOfOrder: 0, worstDisplacement: 0, samples: [] }

  add(device: string, seq: number): void {
    this.report.rows++
    if (device !== this.device) {
      this.device = device
      this.maxSeq = seq
      return
    }
    if (seq < this.maxSeq) {
      this.report.outOfOrder++
      const displacement = this.maxSeq - seq
      if (displacement > this.report.worstDisplacement) this.report.worstDisplacement = displacement
      if (this.report.samples.length < SAMPLES) this.report.samples.push({ device, seq, detail: `received after seq ${this.maxSeq}` })
    } else {
      this.maxSeq = seq
    }
  }
}
