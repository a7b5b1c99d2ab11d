/**
 * Open-loop schedule: the fleet's readings are interleaved round-robin by device, so reading (device i,
 * seq k) is the g-th of the run with g = k·N + i, and is due when the offered load has reached g
 * readings, whatever happened to earlier publishes. Latency is measured from this intended time, so a
 * stalled publisher cannot hide its own delay (no coordinated omission).
 *
 * The offered rate is `rate` times a piecewise-constant multiplier of the time since t0 (1 outside
 * the profile's spikes), so the cumulative count C(t) is piecewise linear and g is due at C⁻¹(g):
 * deterministic, monotonic in g, and independent of how devices are split across workers.
 */
export interface Spike {
  /** Start, in seconds after the load starts. */
  readonly atSeconds: number
  readonly seconds: number
  /** Offered rate during the spike, as a multiple of the baseline rate. */
  readonly multiplier: number
}

export interface Schedule {
  readonly t0Ms: number
  /** Baseline offered rate, readings per second for the whole fleet. */
  readonly rate: number
  readonly devices: number
  readonly perDevice: number
  readonly spikes?: readonly Spike[]
}

interface Segment {
  readonly from: number // seconds after t0
  readonly multiplier: number
  readonly count: number // C(from) / rate
}

const segmentsCache = new WeakMap<readonly Spike[], readonly Segment[]>()
const NO_SPIKES: readonly Spike[] = []

/** Breakpoints of the multiplier: baseline, spike, baseline, …, then baseline for ever. */
function segments(spikes: readonly Spike[] = NO_SPIKES): readonly Segment[] {
  const hit = segmentsCache.get(spikes)
  if (hit) return hit
  const out: Segment[] = []
  let t = 0
  let count = 0
  const push = (from: number, multiplier: number): void => {
    count += (from - t) * (out[out.length - 1]?.multiplier ?? 1)
    t = from
    out.push({ from, multiplier, count })
  }
  push(0, 1)
  for (const s of [...spikes].sort((a, b) => a.atSeconds - b.atSeconds)) {
    if (s.atSeconds < t) continue // overlapping spikes are rejected by the config; ignore defensively
    push(s.atSeconds, s.multiplier)
    push(s.atSeconds + s.seconds, 1)
  }
  segmentsCache.set(spikes, out)
  return out
}

/** Readings the whole fleet is offered in the first `seconds` of the load: C(t). */
export function offeredBy(rate: number, seconds: number, spikes?: readonly Spike[]): number {
  const segs = segments(spikes)
  let i = segs.length - 1
  while (i > 0 && segs[i].from > seconds) i--
  const s = segs[i]
  return rate * (s.count + (seconds - s.from) * s.multiplier)
}

/** Seconds after t0 at which the g-th reading of the run is due: C⁻¹(g). */
export function dueSeconds(rate: number, g: number, spikes?: readonly Spike[]): number {
  const segs = segments(spikes)
  const c = g / rate
  let i = segs.length - 1
  while (i > 0 && segs[i].count > c) i--
  const s = segs[i]
  return s.from + (c - s.count) / s.multiplier
}

/** Offered rate (readings/s, whole fleet) at `seconds` after t0. */
export function rateAt(rate: number, seconds: number, spikes?: readonly Spike[]): number {
  const segs = segments(spikes)
  let i = segs.length - 1
  while (i > 0 && segs[i].from > seconds) i--
  return rate * segs[i].multiplier
}

/** Readings per device: every device sends the same number, so the split stays exact. */
export const readingsPerDevice = (rate: number, durationSeconds: number, devices: number, spikes?: readonly Spike[]): number =>
  Math.max(1, Math.floor(offeredBy(rate, durationSeconds, spikes) / devices))

/** The first seq (round) due at or after `seconds` after t0. */
export const seqAt = (rate: number, seconds: number, devices: number, spikes?: readonly Spike[]): number =>
  Math.ceil(offeredBy(rate, seconds, spikes) / devices - 1e-9)

export const intendedMs = (s: Schedule, device: number, seq: number): number =>
  s.t0Ms + dueSeconds(s.rate, seq * s.devices + device, s.spikes) * 1000
