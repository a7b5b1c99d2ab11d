import { KIND_NAMES, type Kind } from '../kinds.js'
import { ThreadMetrics, type CounterHandle, type HistogramHandle, type ThreadSnapshot } from './thread-metrics.js'

const KIND_SET: ReadonlySet<string> = new Set(KIND_NAMES)

/** The kind a telemetry topic names ({prefix}farm/{farm}/{kind}/{device}/telemetry), or 'unknown'. */
export function kindOfTopic(topic: string, prefix: string): string {
  const rest = topic.startsWith(prefix) ? topic.slice(prefix.length) : topic
  const kind = rest.split('/', 3)[2] ?? ''
  return KIND_SET.has(kind) ? kind : 'unknown'
}

/** The plain counters an ingest thread already keeps; copied into the snapshot, never counted twice. */
export interface IngestTotals {
  readonly received: number
  readonly batches: number
  readonly retries: number
  readonly duplicatesSkipped: number
}

/** What an ingest worker thread records for /metrics. Per reading: one histogram observation at commit. */
export class IngestMetrics {
  readonly thread = new ThreadMetrics().watchRuntime()
  readonly endToEnd: HistogramHandle = this.thread.histogram('endToEnd')
  private readonly ingested: Record<Kind, CounterHandle> = {
    collar: this.thread.counter('ingested', 'collar'),
    milk: this.thread.counter('ingested', 'milk'),
    chiller: this.thread.counter('ingested', 'chiller'),
  }
  private readonly batchRows = this.thread.histogram('batchRows')
  private readonly copySeconds = this.thread.histogram('copySeconds')

  constructor(private readonly topicPrefix: string) {}

  deadLetter(topic: string, reason: string): void {
    this.thread.counter('deadLettered', kindOfTopic(topic, this.topicPrefix), reason).value++
  }

  /** A batch committed: its rows per kind (read before the batch is reset) and how long the write took. */
  committed(rowsByKind: Readonly<Record<Kind, number>>, size: number, seconds: number): void {
    for (const k of KIND_NAMES) this.ingested[k].value += rowsByKind[k]
    this.batchRows.observe(size)
    this.copySeconds.observe(seconds)
  }

  /** An alert raised by the ingest's rule engine. */
  alert(rule: string): void {
    this.thread.counter('alerts', rule).value++
  }

  snapshot(totals: IngestTotals, lagSeconds: number, connected: boolean): ThreadSnapshot {
    this.thread.counter('received').value = totals.received
    this.thread.counter('batches').value = totals.batches
    this.thread.counter('dbRetries').value = totals.retries
    this.thread.counter('duplicatesSkipped').value = totals.duplicatesSkipped
    this.thread.gauge('ingestLag').value = lagSeconds
    this.thread.gauge('connections', 'ingest').value = connected ? 1 : 0
    return this.thread.snapshot()
  }
}
