import type { Device } from '../fleet.js'
import { SAMPLE_INTERVAL_S, SEQS_PER_DAY, type GeneratorContext } from './context.js'
import { ANOMALIES, defaultSensorModels, type AnomalyKind } from './models.js'
import { uniform } from './random.js'

/**
 * Ground truth of injected anomalies. Each device's sequence is cut into blocks of one simulated day
 * (SEQS_PER_DAY readings from seq 0); for every anomaly type the number of events in a block and each
 * event's start, length and magnitude are counter-based draws of (seed, device, block), so any window
 * is known exactly without generating a single reading, in any order, on any thread.
 */
export interface AnomalyWindow {
  readonly kind: AnomalyKind
  /** Readings fromSeq ≤ seq < toSeq are affected. */
  readonly fromSeq: number
  readonly toSeq: number
  /**
   * fever: °C above 39.5; ruminationDrop, yieldDrop: fraction lost; heat: activity multiplier;
   * mastitis: conductivity rise over the cow's baseline (fraction); chillerFailure: warming °C/h;
   * clockSkew: seconds added to the sensor's clock (signed); stuck, offline: 0.
   */
  readonly magnitude: number
  /** 'model': a sensor model's rate; 'outage': the bench profile's fleet outage. */
  readonly source: 'model' | 'outage'
}

const MAX_EVENTS = 50
const STREAM_BASE = 10_000
/** Device draws for fleet outages: one stream per outage. */
const OUTAGE_STREAM = 9_000

const windowsCache = new WeakMap<GeneratorContext, Map<number, Map<number, readonly AnomalyWindow[]>>>()

/**
 * A stuck sensor would hide an anomaly that changes the same field (a fever on a stuck thermometer),
 * so a stuck window that overlaps one is not injected: every injected anomaly stays visible.
 */
const HIDES: Readonly<Record<string, readonly AnomalyKind[]>> = { collar: ['fever'], milk: [], chiller: ['chillerFailure'] }

/** Events of one anomaly-day block of one device (not clamped to the run), conflicting stuck windows removed. */
function blockWindows(ctx: GeneratorContext, device: Device, block: number): readonly AnomalyWindow[] {
  const raw = rawBlockWindows(ctx, device, block)
  const hidden = HIDES[device.kind]
  if (hidden.length === 0 || !raw.some((w) => w.kind === 'stuck')) return raw
  // Called for every reading: the filtered list is cached beside the raw one (same eviction).
  const hit = filteredCache.get(raw)
  if (hit) return hit
  // Windows are at most one day long: those overlapping a stuck window start in blocks b-1..b+1.
  const others = [-1, 0, 1]
    .flatMap((d) => (block + d >= 0 ? rawBlockWindows(ctx, device, block + d) : []))
    .filter((w) => hidden.includes(w.kind))
  const kept = raw.filter((w) => w.kind !== 'stuck' || !others.some((o) => o.fromSeq < w.toSeq && w.fromSeq < o.toSeq))
  filteredCache.set(raw, kept)
  return kept
}
/** Stuck-filtered windows keyed by the raw list they came from (a raw list is one (ctx, device, block)). */
const filteredCache = new WeakMap<readonly AnomalyWindow[], readonly AnomalyWindow[]>()

function rawBlockWindows(ctx: GeneratorContext, device: Device, block: number): readonly AnomalyWindow[] {
  let perCtx = windowsCache.get(ctx)
  if (!perCtx) windowsCache.set(ctx, (perCtx = new Map()))
  let perDevice = perCtx.get(device.index)
  if (!perDevice) {
    if (perCtx.size > 20_000) perCtx.clear()
    perCtx.set(device.index, (perDevice = new Map()))
  }
  const hit = perDevice.get(block)
  if (hit) return hit
  if (perDevice.size > 8) perDevice.clear()

  const model = (ctx.models ?? defaultSensorModels())[device.kind]
  const out: AnomalyWindow[] = []
  const names = ANOMALIES[device.kind] as readonly AnomalyKind[]
  const specs = model.anomalies as Readonly<
    Record<string, { perDay: number; minutes: readonly [number, number]; magnitude?: readonly [number, number] }>
  >
  names.forEach((name, a) => {
    const spec = specs[name]
    if (spec.perDay <= 0) return
    const u = (stream: number): number => uniform(ctx.seed, device.index, block, STREAM_BASE + a * 1000 + stream)
    const whole = Math.floor(spec.perDay)
    const n = Math.min(MAX_EVENTS, whole + (u(0) < spec.perDay - whole ? 1 : 0))
    for (let i = 0; i < n; i++) {
      const start = block * SEQS_PER_DAY + Math.floor(u(1 + i * 5) * SEQS_PER_DAY)
      const minutes = spec.minutes[0] + u(2 + i * 5) * (spec.minutes[1] - spec.minutes[0])
      const length = Math.max(1, Math.round((minutes * 60) / SAMPLE_INTERVAL_S))
      let magnitude = spec.magnitude ? spec.magnitude[0] + u(3 + i * 5) * (spec.magnitude[1] - spec.magnitude[0]) : 0
      if (name === 'clockSkew') magnitude = Math.round(magnitude) * (u(4 + i * 5) < 0.5 ? -1 : 1)
      out.push({ kind: name, fromSeq: start, toSeq: start + length, magnitude, source: 'model' })
    }
  })
  perDevice.set(block, out)
  return out
}

const outageWindows = (ctx: GeneratorContext, device: Device): AnomalyWindow[] =>
  (ctx.outages ?? []).flatMap((o, i) =>
    uniform(ctx.seed, device.index, 0, OUTAGE_STREAM + i) < o.share
      ? [{ kind: 'offline' as const, fromSeq: o.fromSeq, toSeq: o.toSeq, magnitude: 0, source: 'outage' as const }]
      : [],
  )

const byStart = (a: AnomalyWindow, b: AnomalyWindow): number =>
  a.fromSeq - b.fromSeq || a.toSeq - b.toSeq || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0)

/** Every anomaly injected into `device` during a run of `perDevice` readings, clamped to [0, perDevice), by start. */
export function anomalyWindows(ctx: GeneratorContext, device: Device, perDevice: number): AnomalyWindow[] {
  const out: AnomalyWindow[] = []
  const blocks = Math.ceil(perDevice / SEQS_PER_DAY)
  for (let b = 0; b < blocks; b++) {
    for (const w of blockWindows(ctx, device, b)) {
      if (w.fromSeq < perDevice) out.push({ ...w, toSeq: Math.min(w.toSeq, perDevice) })
    }
  }
  for (const w of outageWindows(ctx, device)) {
    if (w.fromSeq < perDevice && w.toSeq > w.fromSeq) out.push({ ...w, toSeq: Math.min(w.toSeq, perDevice) })
  }
  return out.sort(byStart)
}

/** The anomalies active at (device, seq): a window is at most one day long, so two blocks cover it. */
export function anomaliesAt(ctx: GeneratorContext, device: Device, seq: number): AnomalyWindow[] {
  const block = Math.floor(seq / SEQS_PER_DAY)
  const out: AnomalyWindow[] = []
  for (let b = Math.max(0, block - 1); b <= block; b++) {
    for (const w of blockWindows(ctx, device, b)) if (w.fromSeq <= seq && seq < w.toSeq) out.push(w)
  }
  for (const w of outageWindows(ctx, device)) if (w.fromSeq <= seq && seq < w.toSeq) out.push(w)
  // Where windows of one kind overlap, the earliest-starting one applies (the generator takes the first).
  return out.sort(byStart)
}

/** Merged offline intervals [from, to) of a device: the simulator buffers these readings and flushes them at `to`. */
export function offlineIntervals(ctx: GeneratorContext, device: Device, perDevice: number): Array<[from: number, to: number]> {
  const merged: Array<[number, number]> = []
  for (const w of anomalyWindows(ctx, device, perDevice)) {
    if (w.kind !== 'offline') continue
    const last = merged[merged.length - 1]
    if (last && w.fromSeq <= last[1]) last[1] = Math.max(last[1], w.toSeq)
    else merged.push([w.fromSeq, w.toSeq])
  }
  return merged
}
