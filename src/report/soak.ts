import type { PropertyResult } from '../verify/types.js'
import type { TimelinePoint } from './timeline.js'

/**
 * Drift over a long run (the soak profile): a least-squares line through per-second samples of
 * resident memory, V8 heap and end-to-end p99, after a warm-up, and how much each grew along that
 * line. A leak shows as RSS growing steadily long after caches and pools have filled; the fitted line
 * (not first vs last sample) keeps one GC or one slow second from deciding the verdict.
 */

/** One memory sample, taken with the timeline's one-second tick. */
export interface MemorySample {
  /** Seconds since the load started (the timeline's t). */
  readonly t: number
  readonly phase: string
  /** Resident set of the whole process (every thread). */
  readonly rssBytes: number
  /** V8 heap in use, summed over the threads that report it (main, sim-N, ingest-N, broker, oracle, live-clients-N). */
  readonly heapBytes: number
  /** The same second, per thread and kind of memory, so a creep names its thread. */
  readonly threads?: Readonly<Record<string, ThreadMemory>>
}

/**
 * One thread's memory (its own, as Node's process.memoryUsage reports it inside the thread): external
 * includes the array buffers and the WebAssembly memory.
 */
export interface ThreadMemory {
  readonly heap: number
  readonly external: number
  readonly arrayBuffers: number
  readonly wasm: number
}

export const MEMORY_KINDS = ['heap', 'external', 'arrayBuffers', 'wasm'] as const
export type MemoryKind = (typeof MEMORY_KINDS)[number]
/** Not a thread: RSS minus every thread's heap and external memory (allocator slack, native code, stacks). */
export const UNACCOUNTED = 'outside the threads'

export interface LineFit {
  /** Units per second. */
  readonly slope: number
  /** Value at t = 0. */
  readonly intercept: number
  readonly n: number
}

/** Ordinary least squares y = intercept + slope · x. Needs two distinct x values. */
export function fitLine(xs: readonly number[], ys: readonly number[]): LineFit | undefined {
  const n = Math.min(xs.length, ys.length)
  if (n < 2) return undefined
  let mx = 0
  let my = 0
  for (let i = 0; i < n; i++) {
    mx += xs[i]
    my += ys[i]
  }
  mx /= n
  my /= n
  let sxx = 0
  let sxy = 0
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx
    sxx += dx * dx
    sxy += dx * (ys[i] - my)
  }
  if (sxx === 0) return undefined
  const slope = sxy / sxx
  return { slope, intercept: my - slope * mx, n }
}

export interface DriftSeries {
  readonly unit: 'bytes' | 'ms'
  readonly samples: number
  /** Slope of the fitted line, units per hour. */
  readonly slopePerHour: number
  /** The fitted line at the end of the warm-up and at the last sample. */
  readonly fittedStart: number
  readonly fittedEnd: number
  /** (fittedEnd − fittedStart) / fittedStart × 100. */
  readonly growthPct: number
  readonly min: number
  readonly max: number
}

export interface Drift {
  readonly warmupSeconds: number
  /** The samples fitted: load phase, t ≥ warm-up. */
  readonly fromS: number
  readonly toS: number
  readonly rss: DriftSeries
  readonly heap: DriftSeries
  /** Per-second end-to-end p99 (exactly merged per second); seconds without commits are left out. */
  readonly p99: DriftSeries | undefined
  /** The whole load (warm-up included) in INTERVAL_S windows, to see a plateau or a climb by eye. */
  readonly intervals: readonly DriftInterval[]
  /** Per thread and kind of memory, steepest first; `outside the threads` is RSS minus every thread's heap and external memory. */
  readonly threads: readonly ThreadDrift[]
}

export interface ThreadDrift {
  readonly thread: string
  readonly kind: MemoryKind | 'rss'
  readonly series: DriftSeries
}

export interface DriftInterval {
  /** Start of the window, seconds since the load started. */
  readonly t: number
  readonly rssMeanBytes: number
  readonly heapMeanBytes: number
  /** The worst one-second p99 in the window (per-second p99s are exact; they are never averaged). */
  readonly worstP99Ms: number
  /** Per thread, the window's mean of each kind of memory (rounded bytes). */
  readonly threads?: Readonly<Record<string, ThreadMemory>>
}

export const INTERVAL_S = 30
/** How often a run keeps the per-thread breakdown (MemorySampler). */
export const THREAD_SAMPLE_S = 10
/** Fewer per-thread samples after the warm-up than this and a thread gets no line. */
export const MIN_THREAD_SAMPLES = 10

interface Window {
  rss: number
  heap: number
  n: number
  p99: number
  threads: Map<string, { sum: Record<MemoryKind, number>; n: number }>
}

export function intervalsOf(memory: readonly MemorySample[], points: readonly TimelinePoint[], seconds = INTERVAL_S): DriftInterval[] {
  const windows = new Map<number, Window>()
  const at = (t: number): Window => {
    const k = Math.floor(t / seconds) * seconds
    let w = windows.get(k)
    if (!w) windows.set(k, (w = { rss: 0, heap: 0, n: 0, p99: 0, threads: new Map() }))
    return w
  }
  for (const m of memory) {
    if (m.phase !== 'load') continue
    const w = at(m.t)
    w.rss += m.rssBytes
    w.heap += m.heapBytes
    w.n++
    for (const [thread, tm] of Object.entries(m.threads ?? {})) {
      let acc = w.threads.get(thread)
      if (!acc) w.threads.set(thread, (acc = { sum: { heap: 0, external: 0, arrayBuffers: 0, wasm: 0 }, n: 0 }))
      for (const k of MEMORY_KINDS) acc.sum[k] += tm[k]
      acc.n++
    }
  }
  for (const p of points)
    if (p.phase === 'load' && windows.has(Math.floor(p.t / seconds) * seconds)) at(p.t).p99 = Math.max(at(p.t).p99, p.p99Ms)
  const means = (w: Window): Record<string, ThreadMemory> =>
    Object.fromEntries(
      [...w.threads]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([thread, acc]) => [
          thread,
          Object.fromEntries(MEMORY_KINDS.map((k) => [k, Math.round(acc.sum[k] / acc.n)])) as unknown as ThreadMemory,
        ]),
    )
  return [...windows]
    .filter(([, w]) => w.n > 0)
    .sort((a, b) => a[0] - b[0])
    .map(([t, w]) => ({
      t,
      rssMeanBytes: Math.round(w.rss / w.n),
      heapMeanBytes: Math.round(w.heap / w.n),
      worstP99Ms: w.p99,
      ...(w.threads.size > 0 && { threads: means(w) }),
    }))
}

/**
 * A line per thread and kind of memory over the samples fitted (a thread fits over the seconds it
 * reported), and one for what RSS holds beyond every thread's heap and external memory; steepest first.
 */
export function threadDriftOf(mem: readonly MemorySample[], fromS: number, toS: number): ThreadDrift[] {
  const series = new Map<string, { ts: number[]; ys: Record<MemoryKind, number[]> }>()
  const outside: { ts: number[]; ys: number[] } = { ts: [], ys: [] }
  for (const m of mem) {
    if (!m.threads) continue
    let accounted = 0
    for (const [thread, tm] of Object.entries(m.threads)) {
      let s = series.get(thread)
      if (!s) series.set(thread, (s = { ts: [], ys: { heap: [], external: [], arrayBuffers: [], wasm: [] } }))
      s.ts.push(m.t)
      for (const k of MEMORY_KINDS) s.ys[k].push(tm[k])
      accounted += tm.heap + tm.external
    }
    outside.ts.push(m.t)
    outside.ys.push(m.rssBytes - accounted)
  }
  const out: ThreadDrift[] = []
  for (const [thread, s] of series) {
    if (s.ts.length < MIN_THREAD_SAMPLES) continue
    for (const kind of MEMORY_KINDS) {
      if (s.ys[kind].every((v) => v === 0)) continue // a thread without histograms has no WebAssembly memory
      const d = seriesOf(s.ts, s.ys[kind], 'bytes', fromS, toS)
      if (d) out.push({ thread, kind, series: d })
    }
  }
  if (outside.ts.length >= MIN_THREAD_SAMPLES) {
    const d = seriesOf(outside.ts, outside.ys, 'bytes', fromS, toS)
    if (d) out.push({ thread: UNACCOUNTED, kind: 'rss', series: d })
  }
  return out.sort(
    (a, b) => b.series.slopePerHour - a.series.slopePerHour || a.thread.localeCompare(b.thread) || a.kind.localeCompare(b.kind),
  )
}

/** Fewer samples after the warm-up than this and no drift is reported (a line through a handful of seconds says nothing). */
export const MIN_DRIFT_SAMPLES = 30

export function seriesOf(
  xs: readonly number[],
  ys: readonly number[],
  unit: DriftSeries['unit'],
  fromS: number,
  toS: number,
): DriftSeries | undefined {
  const fit = fitLine(xs, ys)
  if (!fit) return undefined
  const fittedStart = fit.intercept + fit.slope * fromS
  const fittedEnd = fit.intercept + fit.slope * toS
  const round = (v: number): number => (unit === 'bytes' ? Math.round(v) : Math.round(v * 1000) / 1000)
  return {
    unit,
    samples: fit.n,
    slopePerHour: round(fit.slope * 3600),
    fittedStart: round(fittedStart),
    fittedEnd: round(fittedEnd),
    growthPct: fittedStart > 0 ? Math.round(((fittedEnd - fittedStart) / fittedStart) * 100 * 1000) / 1000 : 0,
    min: round(Math.min(...ys)),
    max: round(Math.max(...ys)),
  }
}

/**
 * Drift of memory and latency over the load phase after `warmupSeconds`; undefined when the load
 * after the warm-up is shorter than MIN_DRIFT_SAMPLES samples.
 */
export function driftOf(memory: readonly MemorySample[], points: readonly TimelinePoint[], warmupSeconds: number): Drift | undefined {
  const mem = memory.filter((m) => m.phase === 'load' && m.t >= warmupSeconds)
  if (mem.length < MIN_DRIFT_SAMPLES) return undefined
  const fromS = warmupSeconds
  const toS = mem[mem.length - 1].t
  const ts = mem.map((m) => m.t)
  const rss = seriesOf(
    ts,
    mem.map((m) => m.rssBytes),
    'bytes',
    fromS,
    toS,
  )
  const heap = seriesOf(
    ts,
    mem.map((m) => m.heapBytes),
    'bytes',
    fromS,
    toS,
  )
  if (!rss || !heap) return undefined
  const lat = points.filter((p) => p.phase === 'load' && p.t >= warmupSeconds && p.latencyCount > 0)
  const p99 =
    lat.length >= MIN_DRIFT_SAMPLES
      ? seriesOf(
          lat.map((p) => p.t),
          lat.map((p) => p.p99Ms),
          'ms',
          fromS,
          toS,
        )
      : undefined
  return { warmupSeconds, fromS, toS, rss, heap, p99, intervals: intervalsOf(memory, points), threads: threadDriftOf(mem, fromS, toS) }
}

const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`

/** The soak SLO: resident memory grows less than `maxGrowthPct` % along the fitted line after the warm-up. */
export function memoryProperty(drift: Drift | undefined, maxGrowthPct: number, warmupSeconds: number): PropertyResult {
  const name = 'memory drift'
  if (!drift) {
    return {
      id: 'S1',
      name,
      pass: false,
      summary: `no drift measured: fewer than ${MIN_DRIFT_SAMPLES} one-second samples of the load after the ${warmupSeconds} s warm-up (run longer or shorten the warm-up)`,
      evidence: { warmupSeconds, maxRssGrowthPct: maxGrowthPct },
    }
  }
  const r = drift.rss
  const pass = r.growthPct < maxGrowthPct
  return {
    id: 'S1',
    name,
    pass,
    summary:
      `RSS grew ${r.growthPct} % after the ${drift.warmupSeconds} s warm-up (SLO < ${maxGrowthPct} %): ${mib(r.fittedStart)} → ${mib(r.fittedEnd)} along the fitted line, ` +
      `${mib(r.slopePerHour)}/h over ${r.samples} samples; heap ${drift.heap.growthPct} %` +
      (drift.p99 ? `, p99 ${drift.p99.slopePerHour} ms/h` : ''),
    evidence: { maxRssGrowthPct: maxGrowthPct, ...drift },
  }
}

/** The report.md section. */
export function driftMarkdown(drift: Drift): string[] {
  const L: string[] = []
  L.push('## Drift (soak)')
  L.push('')
  L.push(
    `Least-squares line through one-second samples of the load from ${drift.fromS} s (after a ${drift.warmupSeconds} s warm-up) to ${drift.toS} s.`,
  )
  L.push('')
  L.push('| series | samples | slope per hour | fitted at warm-up end | fitted at end | growth | min | max |')
  L.push('|---|---|---|---|---|---|---|---|')
  const row = (label: string, s: DriftSeries): string => {
    const v = (x: number): string => (s.unit === 'bytes' ? mib(x) : `${x} ms`)
    return `| ${label} | ${s.samples} | ${v(s.slopePerHour)} | ${v(s.fittedStart)} | ${v(s.fittedEnd)} | ${s.growthPct} % | ${v(s.min)} | ${v(s.max)} |`
  }
  L.push(row('RSS (process)', drift.rss))
  L.push(row('V8 heap (all threads)', drift.heap))
  if (drift.p99) L.push(row('end-to-end p99 per second', drift.p99))
  if (drift.threads.length) {
    L.push('')
    L.push(
      `Per thread and kind of memory (steepest first; external includes array buffers and WebAssembly memory; "${UNACCOUNTED}" is RSS minus every thread's heap and external memory):`,
    )
    L.push('')
    L.push('| thread | memory | slope per hour | fitted at warm-up end | fitted at end | growth | max |')
    L.push('|---|---|---|---|---|---|---|')
    for (const t of drift.threads) {
      const s = t.series
      L.push(
        `| ${t.thread} | ${t.kind} | ${mib(s.slopePerHour)} | ${mib(s.fittedStart)} | ${mib(s.fittedEnd)} | ${s.growthPct} % | ${mib(s.max)} |`,
      )
    }
  }
  if (drift.intervals.length) {
    L.push('')
    L.push(`Every ${INTERVAL_S} s of the load (warm-up included):`)
    L.push('')
    L.push('| t (s) | RSS mean | heap mean | worst 1-s p99 |')
    L.push('|---|---|---|---|')
    for (const i of drift.intervals) L.push(`| ${i.t} | ${mib(i.rssMeanBytes)} | ${mib(i.heapMeanBytes)} | ${i.worstP99Ms} ms |`)
  }
  return L
}

/**
 * Samples memory at each timeline tick; the per-thread breakdown is kept once every `threadEveryS`
 * seconds (kept every second, 6 threads' breakdowns add 7 MiB to the main heap over a 4-hour soak:
 * the instrument itself must not drift). The readers are injected (process.memoryUsage.rss and the
 * metrics hub's per-thread memory gauges in a run; numbers in a test).
 */
export class MemorySampler {
  private readonly samples: MemorySample[] = []
  private lastSlot = Number.NEGATIVE_INFINITY
  constructor(
    private readonly rss: () => number,
    private readonly threads: () => Readonly<Record<string, ThreadMemory>>,
    private readonly threadEveryS = THREAD_SAMPLE_S,
  ) {}

  sample(t: number, phase: string): void {
    const threads = this.threads()
    const heapBytes = Object.values(threads).reduce((n, m) => n + m.heap, 0)
    const slot = Math.floor(t / this.threadEveryS)
    const keep = slot !== this.lastSlot
    this.lastSlot = slot
    this.samples.push({ t: Math.round(t * 100) / 100, phase, rssBytes: this.rss(), heapBytes, ...(keep && { threads }) })
  }

  all(): readonly MemorySample[] {
    return this.samples
  }
}

/** What a run adds for drift: the lines (when the load was long enough) and S1 when a soak SLO is set. */
export function driftResults(
  cfg: { readonly driftWarmupSeconds: number; readonly sloMaxRssGrowthPct: number | undefined },
  memory: readonly MemorySample[],
  points: readonly TimelinePoint[],
): { drift: Drift | undefined; properties: PropertyResult[] } {
  const drift = driftOf(memory, points, cfg.driftWarmupSeconds)
  const properties = cfg.sloMaxRssGrowthPct === undefined ? [] : [memoryProperty(drift, cfg.sloMaxRssGrowthPct, cfg.driftWarmupSeconds)]
  return { drift, properties }
}
