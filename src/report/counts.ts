import type { Done } from '../ingest/pool.js'
import type { IngestCounters } from '../ingest/messages.js'
import type { SimResult } from '../sim/messages.js'
import type { RunResult } from './result.js'

/** result.json's counts (and a shard's): the offered readings of `devices`, what the simulators sent and the ingest stored. */
export function runCounts(
  devices: number,
  perDevice: number,
  published: number,
  sims: readonly SimResult[],
  totals: Pick<IngestCounters, 'received' | 'committedRows' | 'deadLetters' | 'batches' | 'retries' | 'duplicatesSkipped'>,
): RunResult['counts'] {
  return {
    devices,
    perDevice,
    offered: devices * perDevice,
    published,
    acked: sims.reduce((n, s) => n + s.acked, 0),
    received: totals.received,
    ingested: totals.committedRows,
    deadLetters: totals.deadLetters,
    batches: totals.batches,
    dbRetries: totals.retries,
    duplicatesSkipped: totals.duplicatesSkipped,
  }
}

/** Dead letters by reason, summed over the ingest workers. */
export function deadLetterReasonsOf(ingestDone: readonly Pick<Done, 'deadLetterReasons'>[]): Record<string, number> {
  const reasons: Record<string, number> = {}
  for (const d of ingestDone) for (const [k, v] of Object.entries(d.deadLetterReasons)) reasons[k] = (reasons[k] ?? 0) + v
  return reasons
}
