import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { wasmMemoryBytes } from '../util/histogram.js'
import { METRICS, seriesKey, type CounterId, type GaugeId, type HistogramId, type MetricId } from './catalog.js'

/** One counter series: the hot path does `c.value += n`, nothing else. */
export interface CounterHandle {
  value: number
}
export interface GaugeHandle {
  value: number
}

/** One histogram series: cumulative-by-bucket counting happens at snapshot time, not per observation. */
export class HistogramHandle {
  /** counts[i]: observations ≤ bounds[i] and > bounds[i-1]; the last slot is +Inf. */
  readonly counts: Float64Array
  sum = 0
  count = 0
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1)
  }
  observe(v: number): void {
    const b = this.bounds
    let i = 0
    while (i < b.length && v > b[i]) i++ // latencies sit in the first few buckets: short scan
    this.counts[i]++
    this.sum += v
    this.count++
  }
}

export interface HistogramState {
  readonly counts: readonly number[]
  readonly sum: number
  readonly count: number
}

/**
 * Everything one thread has recorded since it started: cumulative, so the main thread keeps only
 * the latest snapshot per thread and sums them (a lost or repeated message neither loses nor
 * double-counts anything, as long as the thread's last snapshot arrives).
 */
export interface ThreadSnapshot {
  readonly counters: Readonly<Partial<Record<MetricId, Readonly<Record<string, number>>>>>
  readonly histograms: Readonly<Partial<Record<MetricId, Readonly<Record<string, HistogramState>>>>>
  readonly gauges: Readonly<Partial<Record<MetricId, Readonly<Record<string, number>>>>>
}

/** Recording side, one per thread (sim, ingest, main). Plain numbers on the hot path; JSON once a report. */
export class ThreadMetrics {
  private readonly counters = new Map<CounterId, Map<string, CounterHandle>>()
  private readonly gauges = new Map<GaugeId, Map<string, GaugeHandle>>()
  private readonly histograms = new Map<HistogramId, Map<string, HistogramHandle>>()
  private loop: IntervalHistogram | undefined

  counter(id: CounterId, ...labelValues: string[]): CounterHandle {
    return handle(this.counters, id, labelValues, () => ({ value: 0 }))
  }

  gauge(id: GaugeId, ...labelValues: string[]): GaugeHandle {
    return handle(this.gauges, id, labelValues, () => ({ value: 0 }))
  }

  histogram(id: HistogramId): HistogramHandle {
    return handle(this.histograms, id, [], () => new HistogramHandle(METRICS[id].buckets))
  }

  /** Samples this thread's memory (heap, external, array buffers, WebAssembly) and event-loop delay into its per-thread gauges at every snapshot. */
  watchRuntime(): this {
    this.loop = monitorEventLoopDelay({ resolution: 10 })
    this.loop.enable()
    return this
  }

  stopRuntime(): void {
    this.loop?.disable()
  }

  snapshot(): ThreadSnapshot {
    if (this.loop) {
      // In a worker thread every field but rss is this thread's own (Node's process.memoryUsage).
      const m = process.memoryUsage()
      this.gauge('heapUsed').value = m.heapUsed
      this.gauge('externalMemory').value = m.external
      this.gauge('arrayBuffers').value = m.arrayBuffers
      this.gauge('wasmMemory').value = wasmMemoryBytes()
      this.gauge('loopLag').value = this.loop.count > 0 ? this.loop.percentile(99) / 1e9 : 0
      this.loop.reset()
    }
    const plain = <H extends { value: number }>(m: Map<string, Map<string, H>>): Record<string, Record<string, number>> => {
      const out: Record<string, Record<string, number>> = {}
      for (const [id, series] of m) out[id] = Object.fromEntries([...series].map(([k, h]) => [k, h.value]))
      return out
    }
    const histograms: Record<string, Record<string, HistogramState>> = {}
    for (const [id, series] of this.histograms) {
      histograms[id] = Object.fromEntries([...series].map(([k, h]) => [k, { counts: Array.from(h.counts), sum: h.sum, count: h.count }]))
    }
    return { counters: plain(this.counters), gauges: plain(this.gauges), histograms }
  }
}

function handle<I extends MetricId, H>(maps: Map<I, Map<string, H>>, id: I, labelValues: readonly string[], make: () => H): H {
  const want = METRICS[id].labels.length
  if (labelValues.length !== want) throw new Error(`${METRICS[id].name} takes ${want} label value(s), got ${labelValues.length}`)
  let series = maps.get(id)
  if (!series) maps.set(id, (series = new Map()))
  const key = seriesKey(labelValues)
  let h = series.get(key)
  if (!h) series.set(key, (h = make()))
  return h
}

/** Where worker pools deliver their threads' snapshots (the main thread's RunMetrics). */
export interface MetricsSink {
  update(thread: string, snapshot: ThreadSnapshot): void
  /** The thread has ended: its counts stay, its per-thread gauges go. */
  finish(thread: string): void
  /** An ingest thread's end-to-end latencies of its last second, encoded HdrHistogram (µs). */
  recentLatency?(encoded: string): void
}
