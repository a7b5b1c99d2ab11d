import type { UnackedRange } from '../sim/messages.js'

/** Fast lookup of "was (device, seq) published but never acknowledged?". */
export class UnackedIndex {
  private readonly byDevice = new Map<number, Array<readonly [number, number]>>()
  readonly total: number

  constructor(ranges: readonly UnackedRange[]) {
    let total = 0
    for (const [device, from, to] of ranges) {
      const list = this.byDevice.get(device) ?? []
      list.push([from, to])
      this.byDevice.set(device, list)
      total += to - from
    }
    this.total = total
  }

  has(device: number, seq: number): boolean {
    const list = this.byDevice.get(device)
    return list !== undefined && list.some(([from, to]) => seq >= from && seq < to)
  }
}
