import { collectDefaultMetrics, Registry } from 'prom-client'
import { errorMessage, InfraError } from '../errors.js'
import { KIND_NAMES } from '../kinds.js'
import type { ThreadMemory } from '../report/soak.js'
import type { CountsByKind, RunTimeline, TimelineEvent, TimelinePoint } from '../report/timeline.js'
import { mergeEncoded } from '../util/histogram.js'
import { seriesLabels } from './catalog.js'
import { MetricsHub } from './hub.js'
import { serveMetrics, type MetricsServer } from './server.js'
import { ThreadMetrics, type MetricsSink, type ThreadSnapshot } from './thread-metrics.js'

export const PHASES = ['setup', 'load', 'drain', 'verify', 'done'] as const
export type Phase = (typeof PHASES)[number]

export interface LoadWindows {
  readonly spikes?: ReadonlyArray<{ readonly atSeconds: number; readonly seconds: number; readonly multiplier: number }>
  readonly outages?: ReadonlyArray<{ readonly atSeconds: number; readonly seconds: number; readonly share: number }>
}

/**
 * The main thread's metrics for one run: the hub that sums every thread's snapshot, the registry it
 * is exposed through (injected or new: never prom-client's global one), the optional /metrics server,
 * and the per-second timeline the report plots.
 */
export class RunMetrics implements MetricsSink {
  readonly registry: Registry
  readonly hub = new MetricsHub()
  private readonly main = new ThreadMetrics().watchRuntime()
  private server: MetricsServer | undefined
  private recent: string[] = []
  private readonly points: TimelinePoint[] = []
  private readonly events: TimelineEvent[] = []
  private lastByKey = new Map<string, number>()
  private phase: Phase = 'setup'

  constructor(registry: Registry = new Registry()) {
    this.registry = registry
    this.hub.register(registry)
    // Process-wide memory, CPU, GC and the main thread's event-loop lag (prom-client's own collectors).
    collectDefaultMetrics({ register: registry })
    this.setPhase('setup')
    this.refresh()
  }

  update(thread: string, snapshot: ThreadSnapshot): void {
    this.hub.update(thread, snapshot)
  }

  finish(thread: string): void {
    this.hub.finish(thread)
  }

  recentLatency(encoded: string): void {
    this.recent.push(encoded)
  }

  /** Starts serving /metrics; returns its URL. */
  async serve(host: string, port: number): Promise<string> {
    try {
      this.server = await serveMetrics(this.registry, host, port, () => this.refresh())
    } catch (err) {
      throw new InfraError(
        `cannot serve metrics on ${host}:${port}: ${errorMessage(err)}`,
        'choose another --metrics-port (0 picks a free one) or --metrics-host',
        { cause: err },
      )
    }
    return this.server.url
  }

  setRunInfo(runId: string, profile: string, broker: string, storage: string): void {
    this.main.gauge('runInfo', runId, profile, broker, storage).value = 1
  }

  setPhase(phase: Phase): void {
    this.phase = phase
    for (const p of PHASES) this.main.gauge('phase', p).value = p === phase ? 1 : 0
  }

  /** Zero series for the rules the ingest evaluates, so a dashboard shows 0 alerts rather than no data. */
  declareAlertRules(rules: readonly string[]): void {
    for (const r of rules) this.main.counter('alerts', r)
  }

  setProperties(properties: ReadonlyArray<{ readonly id: string; readonly name: string; readonly pass: boolean }>): void {
    for (const p of properties) this.main.gauge('property', p.id, p.name).value = p.pass ? 1 : 0
    this.refresh()
  }

  /** Recomputes the main thread's own series (derived gauges, heap, loop lag). */
  refresh(): void {
    this.main.gauge('backlog').value = Math.max(0, this.hub.counterTotal('published') - this.hub.counterTotal('received'))
    this.hub.update('main', this.main.snapshot())
  }

  /** Each running thread's memory as it last reported it (the soak's per-thread drift). */
  threadMemory(): Record<string, ThreadMemory> {
    const out: Record<string, { heap: number; external: number; arrayBuffers: number; wasm: number }> = {}
    const read = (
      id: 'heapUsed' | 'externalMemory' | 'arrayBuffers' | 'wasmMemory',
      kind: 'heap' | 'external' | 'arrayBuffers' | 'wasm',
    ): void => {
      for (const g of this.hub.gaugeValues(id)) {
        const thread = g.labels.thread ?? 'unknown'
        ;(out[thread] ??= { heap: 0, external: 0, arrayBuffers: 0, wasm: 0 })[kind] = g.value
      }
    }
    read('heapUsed', 'heap')
    read('externalMemory', 'external')
    read('arrayBuffers', 'arrayBuffers')
    read('wasmMemory', 'wasm')
    return out
  }

  /** One timeline point; called once a second by the run's progress ticker. */
  tick(t: number): TimelinePoint {
    this.refresh()
    const h = mergeEncoded(this.recent)
    this.recent = []
    const ms = (us: number): number => Math.round(us) / 1000
    const point: TimelinePoint = {
      t: Math.round(t * 100) / 100,
      phase: this.phase,
      offered: this.hub.counterTotal('offered'),
      sent: this.hub.counterTotal('published'),
      acked: this.hub.counterTotal('acked'),
      ingested: this.hub.counterTotal('ingested'),
      deadLetters: this.hub.counterTotal('deadLettered'),
      dbRetries: this.hub.counterTotal('dbRetries'),
      alerts: this.hub.counterTotal('alerts'),
      latencyCount: h.totalCount,
      p50Ms: h.totalCount ? ms(h.getValueAtPercentile(50)) : 0,
      p90Ms: h.totalCount ? ms(h.getValueAtPercentile(90)) : 0,
      p99Ms: h.totalCount ? ms(h.getValueAtPercentile(99)) : 0,
      maxMs: h.totalCount ? ms(h.maxValue) : 0,
    }
    h.destroy()
    this.points.push(point)
    this.recordDeltas(point.t)
    return point
  }

  private recordDeltas(t: number): void {
    const watch = (
      id: 'alerts' | 'deadLettered' | 'dbRetries',
      type: TimelineEvent['type'],
      name: (labels: Record<string, string>) => string,
    ): void => {
      for (const [k, v] of this.hub.counterTotals(id)) {
        const key = `${id}\u0000${k}`
        const delta = v - (this.lastByKey.get(key) ?? 0)
        this.lastByKey.set(key, v)
        if (delta > 0) this.events.push({ t, type, name: name(seriesLabels(id, k)), count: delta })
      }
    }
    watch('alerts', 'alert', (l) => l.rule ?? 'alert')
    watch('deadLettered', 'dead-letter', (l) => l.reason ?? 'dead letter')
    watch('dbRetries', 'db-retry', () => 'database retry')
  }

  /** The series for result.json: the timeline (with the load's spike and outage windows) and counts per kind. */
  results(load: LoadWindows | undefined): { timeline: RunTimeline; countsByKind: CountsByKind } {
    this.refresh()
    const windows: TimelineEvent[] = [
      ...(load?.spikes ?? []).map((s) => ({
        t: s.atSeconds,
        type: 'spike' as const,
        name: `rate × ${s.multiplier}`,
        count: 1,
        seconds: s.seconds,
      })),
      ...(load?.outages ?? []).map((o) => ({
        t: o.atSeconds,
        type: 'outage' as const,
        name: `${Math.round(o.share * 100)} % of devices offline`,
        count: 1,
        seconds: o.seconds,
      })),
    ]
    const byKind: Record<string, { offered: number; published: number; acked: number; ingested: number; deadLetters: number }> = {}
    for (const k of [...KIND_NAMES, 'unknown']) byKind[k] = { offered: 0, published: 0, acked: 0, ingested: 0, deadLetters: 0 }
    const add = (
      id: 'offered' | 'published' | 'acked' | 'ingested' | 'deadLettered',
      field: 'offered' | 'published' | 'acked' | 'ingested' | 'deadLetters',
    ): void => {
      for (const [key, v] of this.hub.counterTotals(id)) {
        const kind = seriesLabels(id, key).kind ?? 'unknown'
        byKind[kind][field] += v
      }
    }
    add('offered', 'offered')
    add('published', 'published')
    add('acked', 'acked')
    add('ingested', 'ingested')
    add('deadLettered', 'deadLetters')
    if (Object.values(byKind.unknown).every((v) => v === 0)) delete byKind.unknown
    return {
      timeline: { intervalS: 1, points: [...this.points], events: [...windows, ...this.events].sort((a, b) => a.t - b.t) },
      countsByKind: byKind,
    }
  }

  /** Keeps /metrics up for `lingerSeconds` (so a scraper sees the final values), then closes it. */
  async close(lingerSeconds = 0): Promise<void> {
    if (this.server && lingerSeconds > 0) await new Promise((r) => setTimeout(r, lingerSeconds * 1000))
    this.main.stopRuntime()
    await this.server?.close()
    this.server = undefined
  }
}
