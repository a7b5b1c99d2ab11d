import type pg from 'pg'
import { InfraError } from '../errors.js'
import type { ShardPlan } from './plan.js'

/** How long after the last agent is ready the schedule starts: time for every agent to see it. */
export const BARRIER_MARGIN_MS = 1500

/**
 * The start of a sharded run's schedule when no --start-at is given: a barrier in the database. Each
 * agent, once its ingest is subscribed and its simulators are connected, records the database's clock
 * under its shard in the run row (runs.evidence.shardReady, until the merge writes the evidence), then
 * polls until all n have; every agent computes the same t0 from the same rows: the last ready time plus
 * BARRIER_MARGIN_MS. The agents' clocks must agree with the database's (NTP), as for --start-at.
 */
export async function shardBarrier(
  client: pg.Client,
  dbRunId: number,
  plan: ShardPlan,
  timeoutMs: number,
  log: (line: string) => void,
  sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
): Promise<number> {
  await client.query(
    `UPDATE runs SET evidence = jsonb_set(coalesce(evidence, '{}'::jsonb), '{shardReady}',
       coalesce(evidence->'shardReady', '{}'::jsonb) || jsonb_build_object($2::text, (extract(epoch FROM clock_timestamp()) * 1000)::bigint))
     WHERE id = $1`,
    [dbRunId, String(plan.index + 1)],
  )
  log(`shard ${plan.index + 1}/${plan.count} ready; waiting for the other agents (database barrier)`)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const r = await client.query<{ ready: Record<string, number> | null }>(
      `SELECT evidence->'shardReady' AS ready FROM runs WHERE id = $1`,
      [dbRunId],
    )
    const ready = r.rows[0]?.ready ?? {}
    const times = Object.values(ready).map(Number)
    if (times.length >= plan.count) return Math.max(...times) + BARRIER_MARGIN_MS
    if (Date.now() > deadline) {
      const missing = Array.from({ length: plan.count }, (_, i) => String(i + 1)).filter((i) => !(i in ready))
      throw new InfraError(
        `shard barrier: agents ${missing.join(', ')} of ${plan.count} not ready after ${Math.round(timeoutMs / 1000)} s`,
        'start every agent with the same --run-id, --shard i/n and database (or give them all one --start-at)',
      )
    }
    await sleep(100)
  }
}
