import type { IngestPool } from '../ingest/pool.js'
import { HostSampler, systemProbes } from '../metrics/host.js'
import { createProgress, type ProgressOutput } from '../report/progress.js'
import { MemorySampler } from '../report/soak.js'
import type { SimProgress } from '../sim/pool.js'
import type { RateSample } from '../verify/rates.js'
import type { RunContext } from './context.js'

/**
 * What a run watches while it loads and drains, once a second: the progress line, the metrics' timeline,
 * memory (soak drift), the host (a timing failure on a saturated machine is told apart: src/verify/timing.ts)
 * and P6's rate samples (achieved vs offered, from the schedule's t0).
 */
export class RunMonitor {
  simProgress: SimProgress = { sent: 0, acked: 0 }
  phase: 'load' | 'drain' = 'load'
  /** The schedule's start (epoch ms); rate samples begin there. */
  t0Ms = Number.POSITIVE_INFINITY
  readonly rateSamples: RateSample[] = []
  readonly host: HostSampler
  readonly memory: MemorySampler
  readonly runStart: number
  private readonly progress: ProgressOutput
  private readonly tickers: NodeJS.Timeout[]

  constructor(
    private readonly ctx: RunContext,
    private readonly ingest: IngestPool,
  ) {
    const { metrics } = ctx
    this.progress = createProgress(ctx.cfg.progress)
    this.runStart = ctx.clock()
    this.host = new HostSampler(systemProbes(() => 1000 * Math.max(0, ...metrics.hub.gaugeValues('loopLag').map((g) => g.value))))
    this.memory = new MemorySampler(
      () => process.memoryUsage.rss(),
      () => metrics.threadMemory(),
    )
    metrics.setPhase('load')
    this.tickers = [setInterval(() => this.snapshot(), 1000), setInterval(() => this.sampleRates(), 1000)]
  }

  snapshot(): void {
    const { clock, metrics, cfg } = this.ctx
    const t = this.ingest.totals()
    // The live p99 comes from the threads' last-second histograms merged exactly (never a max or mean of p99s).
    const point = metrics.tick((clock() - this.runStart) / 1000)
    this.memory.sample(point.t, point.phase)
    this.host.sample()
    this.progress.update({
      elapsedS: (clock() - this.runStart) / 1000,
      offeredPerS: cfg.rate,
      sent: this.simProgress.sent,
      acked: this.simProgress.acked,
      qos: cfg.qos,
      ingested: t.committedRows,
      deadLetters: t.deadLetters,
      p99Ms: point.p99Ms,
      phase: this.phase,
    })
  }

  sampleRates(): void {
    const now = this.ctx.clock()
    if (now >= this.t0Ms)
      this.rateSamples.push({ t: (now - this.t0Ms) / 1000, sent: this.simProgress.sent, ingested: this.ingest.totals().committedRows })
  }

  drain(): void {
    this.phase = 'drain'
    this.ctx.metrics.setPhase('drain')
  }

  stopTicking(): void {
    for (const t of this.tickers) clearInterval(t)
  }

  /** The last snapshot, and the progress line closed. */
  finish(): void {
    this.snapshot()
    this.progress.done()
  }
}
