/**
 * Exactly-once effect over at-least-once delivery: remembers which seqs of each device the ingest has
 * accepted, as a high-water mark plus the ranges below it that have not arrived (gaps). A redelivered
 * reading (seq at or below the mark and not in a gap) is acknowledged but not stored again; a late
 * reading that fills a gap is stored. Memory is per device plus per gap, not per reading.
 *
 * Accepted means "placed in a batch": batches commit in order and a batch is retried until it
 * commits (or the worker stops as failed), so a reading in a batch will be stored.
 */
export class SeqTracker {
  private readonly devices = new Map<string, { max: number; gaps: Array<[from: number, to: number]> }>()
  /** Highest seq of each device placed in a batch so far, in the order readings were stored. */
  private readonly stored = new Map<string, number>()

  /** True when (device, seq) is new and must be stored; false for a duplicate. */
  accept(device: string, seq: number): boolean {
    const d = this.devices.get(device)
    if (!d) {
      this.devices.set(device, { max: seq, gaps: seq > 0 ? [[0, seq]] : [] })
      return true
    }
    if (seq > d.max) {
      if (seq > d.max + 1) d.gaps.push([d.max + 1, seq])
      d.max = seq
      return true
    }
    for (let i = 0; i < d.gaps.length; i++) {
      const [from, to] = d.gaps[i]
      if (seq < from || seq >= to) continue
      // Split the gap around seq.
      const parts: Array<[number, number]> = []
      if (seq > from) parts.push([from, seq])
      if (seq + 1 < to) parts.push([seq + 1, to])
      d.gaps.splice(i, 1, ...parts)
      return true
    }
    return false
  }

  /**
   * Records that (device, seq) is being stored and returns the device's highest seq stored before it
   * (−1 for its first): the prior_seq column, from which the verifier tells a reading stored after a
   * higher seq of its device (P3) without sorting the run.
   */
  storing(device: string, seq: number): number {
    const prior = this.stored.get(device) ?? -1
    if (seq > prior) this.stored.set(device, seq)
    return prior
  }

  /** Restores what a device already has in the database (sorted distinct seqs), e.g. after a restart. */
  restore(device: string, seqs: readonly number[]): void {
    this.devices.delete(device)
    this.stored.delete(device)
    for (const s of seqs) {
      this.accept(device, s)
      this.storing(device, s)
    }
  }

  get size(): number {
    return this.devices.size
  }

  /** The device's open gaps, [from, to) in seq order: what the tracker's memory holds besides the device. */
  gapsOf(device: string): ReadonlyArray<readonly [number, number]> {
    return this.devices.get(device)?.gaps ?? []
  }
}
