import type { Metric, Registry } from 'prom-client'
import { METRICS, seriesLabels, type MetricDef, type MetricId } from './catalog.js'
import type { HistogramState, ThreadSnapshot } from './thread-metrics.js'

interface Exposed {
  readonly metricName?: string
  readonly labels: Record<string, string | number>
  readonly value: number
}

/**
 * The main thread's view of every thread's metrics: the latest cumulative snapshot of each thread
 * (main, sim-N, ingest-N), summed per series when Prometheus scrapes. A thread that has finished keeps
 * its last snapshot (its counts stay in the totals) but its per-thread gauges are no longer exposed.
 */
export class MetricsHub {
  private readonly threads = new Map<string, ThreadSnapshot>()
  private readonly finished = new Set<string>()

  update(thread: string, snapshot: ThreadSnapshot): void {
    this.threads.set(thread, snapshot)
  }

  finish(thread: string): void {
    this.finished.add(thread)
  }

  /** Sum of a counter's series over every thread, by series key. */
  counterTotals(id: MetricId): Map<string, number> {
    const out = new Map<string, number>()
    for (const s of this.threads.values()) {
      for (const [k, v] of Object.entries(s.counters[id] ?? {})) out.set(k, (out.get(k) ?? 0) + v)
    }
    return out
  }

  counterTotal(id: MetricId): number {
    let n = 0
    for (const v of this.counterTotals(id).values()) n += v
    return n
  }

  histogramTotal(id: MetricId): Map<string, HistogramState> {
    const out = new Map<string, { counts: number[]; sum: number; count: number }>()
    for (const s of this.threads.values()) {
      for (const [k, h] of Object.entries(s.histograms[id] ?? {})) {
        const t = out.get(k) ?? { counts: h.counts.map(() => 0), sum: 0, count: 0 }
        h.counts.forEach((c, i) => (t.counts[i] = (t.counts[i] ?? 0) + c))
        t.sum += h.sum
        t.count += h.count
        out.set(k, t)
      }
    }
    return out
  }

  /** Gauges: summed over threads, or one series per live thread for perThread gauges. */
  gaugeValues(id: MetricId): Array<{ labels: Record<string, string>; value: number }> {
    const def: MetricDef = METRICS[id]
    if (def.perThread) {
      const out: Array<{ labels: Record<string, string>; value: number }> = []
      for (const [thread, s] of this.threads) {
        if (this.finished.has(thread)) continue
        for (const [k, v] of Object.entries(s.gauges[id] ?? {})) out.push({ labels: { ...seriesLabels(id, k), thread }, value: v })
      }
      return out
    }
    const sums = new Map<string, number>()
    for (const s of this.threads.values()) for (const [k, v] of Object.entries(s.gauges[id] ?? {})) sums.set(k, (sums.get(k) ?? 0) + v)
    return [...sums].map(([k, value]) => ({ labels: seriesLabels(id, k), value }))
  }

  /** What Prometheus gets for one metric (prom-client's MetricObject shape). */
  exposed(id: MetricId): Exposed[] {
    const def: MetricDef = METRICS[id]
    if (def.type === 'counter') return [...this.counterTotals(id)].map(([k, value]) => ({ labels: seriesLabels(id, k), value }))
    if (def.type === 'gauge') return this.gaugeValues(id)
    const out: Exposed[] = []
    const bounds = def.buckets ?? []
    for (const [k, h] of this.histogramTotal(id)) {
      const labels = seriesLabels(id, k)
      let cumulative = 0
      for (let i = 0; i <= bounds.length; i++) {
        cumulative += h.counts[i] ?? 0
        out.push({ metricName: `${def.name}_bucket`, labels: { ...labels, le: i < bounds.length ? bounds[i] : '+Inf' }, value: cumulative })
      }
      out.push({ metricName: `${def.name}_sum`, labels, value: h.sum })
      out.push({ metricName: `${def.name}_count`, labels, value: h.count })
    }
    return out
  }

  /** Registers every catalogue metric in the given registry (injected: no global default registry). */
  register(registry: Registry): void {
    for (const id of Object.keys(METRICS) as MetricId[]) {
      const def: MetricDef = METRICS[id]
      const metric = {
        name: def.name,
        help: def.help,
        type: def.type,
        aggregator: 'sum',
        get: async () => {
          return { name: def.name, help: def.help, type: def.type, aggregator: 'sum', values: this.exposed(id) }
        },
        reset: () => undefined,
      }
      // prom-client's Registry needs only name and get() of a metric; these are computed at scrape time.
      registry.registerMetric(metric as unknown as Metric)
    }
  }
}
