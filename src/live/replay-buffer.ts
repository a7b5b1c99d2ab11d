/**
 * One farm's feed: positions assigned in commit order (1, 2, 3 …) and the last `capacity` events kept
 * (already serialized, so a replay costs no JSON work), in a ring. Memory is bounded by `capacity`.
 */
export type Since<T> =
  | { readonly ok: true; readonly pos: number; readonly events: readonly T[] }
  | { readonly ok: false; readonly reason: 'too-old'; readonly oldest: number; readonly head: number }
  | { readonly ok: false; readonly reason: 'ahead'; readonly oldest: number; readonly head: number }

export class ReplayBuffer<T> {
  private readonly ring: T[]
  /** Position of the newest event; 0 before the first. */
  private last = 0

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`replay capacity must be ≥ 1 (got ${capacity})`)
    this.ring = new Array<T>(capacity)
  }

  get head(): number {
    return this.last
  }

  /** Oldest position still held (head + 1 when empty). */
  get oldest(): number {
    return Math.max(1, this.last - this.capacity + 1)
  }

  /** Appends events; returns the position of the first. */
  append(events: readonly T[]): number {
    const first = this.last + 1
    for (const e of events) {
      this.last++
      this.ring[this.last % this.capacity] = e
    }
    return first
  }

  /**
   * Every event after `cursor` (the last position a client has), in order — or a refusal when some of
   * them are no longer held or the cursor is in the future. Never a gap: at most `limit` events, from
   * cursor + 1 on.
   */
  since(cursor: number, limit = Infinity): Since<T> {
    if (!Number.isInteger(cursor) || cursor > this.last) return { ok: false, reason: 'ahead', oldest: this.oldest, head: this.last }
    if (cursor + 1 < this.oldest) return { ok: false, reason: 'too-old', oldest: this.oldest, head: this.last }
    const events: T[] = []
    const to = Math.min(this.last, cursor + limit)
    for (let p = cursor + 1; p <= to; p++) events.push(this.ring[p % this.capacity])
    return { ok: true, pos: cursor + 1, events }
  }
}
