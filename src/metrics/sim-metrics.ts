import type { Kind } from '../kinds.js'
import { ThreadMetrics, type CounterHandle, type ThreadSnapshot } from './thread-metrics.js'

/**
 * What a simulator thread records for /metrics. Handles are resolved per device once, so the hot path
 * is one increment: `m.published[j]!.value++`.
 */
export class SimMetrics {
  readonly thread = new ThreadMetrics().watchRuntime()
  readonly offered: CounterHandle[]
  readonly published: CounterHandle[]
  readonly acked: CounterHandle[]

  constructor(kinds: readonly Kind[]) {
    const per = (id: 'offered' | 'published' | 'acked'): CounterHandle[] => kinds.map((k) => this.thread.counter(id, k))
    this.offered = per('offered')
    this.published = per('published')
    this.acked = per('acked')
  }

  /** `connections`: MQTT connections the thread holds open (1 multiplexed, or one per device). */
  snapshot(connections: number | boolean): ThreadSnapshot {
    this.thread.gauge('connections', 'sim').value = Number(connections)
    return this.thread.snapshot()
  }
}
