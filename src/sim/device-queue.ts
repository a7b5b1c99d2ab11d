import type { UnackedRange } from './messages.js'

export type QueuePolicy = 'drop-oldest' | 'drop-newest'

/**
 * What each simulated device buffers while it cannot publish (its own offline window, or the
 * connection to the broker is down): a bounded FIFO of seqs per device, like a sensor's flash.
 * When a device's queue is full the policy decides what goes: `drop-oldest` (keep the freshest
 * data) or `drop-newest` (keep the history). Every dropped reading is counted and remembered as a
 * (device, seq) range, so the verifier classifies it instead of calling it lost.
 */
export class DeviceQueues {
  private readonly seqs: number[][]
  private readonly heads: Uint32Array
  /** Per device, the dropped seqs as ranges [from, to): drops are consecutive, so this stays small. */
  private readonly droppedRanges: Array<Array<[number, number]>>
  dropped = 0

  constructor(
    private readonly devices: number,
    readonly capacity: number,
    readonly policy: QueuePolicy,
  ) {
    this.seqs = Array.from({ length: devices }, () => [])
    this.heads = new Uint32Array(devices)
    this.droppedRanges = Array.from({ length: devices }, () => [])
  }

  size(j: number): number {
    return this.seqs[j].length - this.heads[j]
  }

  /** Buffers reading `seq` of device `j`, dropping by the policy when the device's queue is full. */
  push(j: number, seq: number): void {
    if (this.size(j) >= this.capacity) {
      if (this.policy === 'drop-newest') return this.drop(j, seq)
      const q = this.seqs[j]
      this.drop(j, q[this.heads[j]])
      this.heads[j]++
      if (this.heads[j] > 1024 && this.heads[j] * 2 > q.length) {
        this.seqs[j] = q.slice(this.heads[j])
        this.heads[j] = 0
      }
    }
    this.seqs[j].push(seq)
  }

  /** Puts readings that were in flight when the connection died back at the front, oldest first (not bounded: they were already taken). */
  requeue(j: number, seqs: readonly number[]): void {
    this.seqs[j] = [...seqs, ...this.seqs[j].slice(this.heads[j])]
    this.heads[j] = 0
  }

  /** Takes device `j`'s buffered seqs, oldest first. */
  drain(j: number): number[] {
    const out = this.heads[j] === 0 ? this.seqs[j] : this.seqs[j].slice(this.heads[j])
    this.seqs[j] = []
    this.heads[j] = 0
    return out
  }

  private drop(j: number, seq: number): void {
    this.dropped++
    const ranges = this.droppedRanges[j]
    const last = ranges[ranges.length - 1]
    if (last && last[1] === seq) last[1]++
    else ranges.push([seq, seq + 1])
  }

  /** Dropped readings as (device index, from, to), device index = `offset` + j. */
  droppedAsRanges(offset: number): UnackedRange[] {
    const out: UnackedRange[] = []
    for (let j = 0; j < this.devices; j++) for (const [from, to] of this.droppedRanges[j]) out.push([offset + j, from, to])
    return out
  }
}

/**
 * Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with "equal jitter" (each delay
 * uniformly in [d/2, d]) so a fleet that lost the broker at once does not come back at once.
 */
export class Backoff {
  private attempt = 0
  constructor(
    private readonly random: () => number,
    private readonly baseMs = 100,
    private readonly maxMs = 5000,
  ) {}

  next(): number {
    const d = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt)
    this.attempt = Math.min(this.attempt + 1, 30)
    return d * (0.5 + this.random() / 2)
  }

  reset(): void {
    this.attempt = 0
  }
}
