import { detectStorage, type SqlSession } from '../db/migrate.js'
import { BUCKET_MS } from './dashboard-aggregates.js'

/** What an aggregate shows: everything (a view), or materialized buckets below a watermark (minus pending invalidations) and, when real-time, the raw rows above it. */
export interface RefreshState {
  readonly continuous: boolean
  /** Real-time aggregation (materialized_only = false): buckets at or above the watermark are computed from the raw rows at query time. */
  readonly realtime?: boolean
  /** Buckets at or after this are not materialized (undefined: a plain view, all computed on read). */
  readonly watermarkMs?: number
  /** Ranges [lo, hi] (ms, inclusive) changed since the last refresh: their materialized buckets are stale until the next one. */
  readonly pending: ReadonlyArray<readonly [number, number]>
}

/** Whether the aggregate shows bucket `t` as the raw rows are now (the dashboards read what it shows). */
export const isRefreshed = (s: RefreshState, t: number): boolean => {
  if (s.watermarkMs !== undefined && t + BUCKET_MS > s.watermarkMs) return s.realtime === true
  return !s.pending.some(([lo, hi]) => t <= hi && t + BUCKET_MS > lo)
}

/**
 * TimescaleDB's internal time of a timestamptz column (microseconds since the Unix epoch) as epoch ms;
 * numeric, because the invalidation logs hold ±int64 bounds that no timestamp can hold.
 */
const INTERNAL_MS = (col: string): string => `(${col}::float8 / 1000)`

/** Reads the refreshed range of each continuous aggregate in the schema (none: plain PostgreSQL views). */
export async function readRefreshStates(db: SqlSession, schema: string): Promise<Map<string, RefreshState>> {
  const out = new Map<string, RefreshState>()
  if ((await detectStorage(db)) !== 'timescaledb') return out
  // Stryker disable StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const caggs = await db.query(
    `SELECT user_view_name::text AS view, materialized_only, mat_hypertable_id AS mat, raw_hypertable_id AS raw,
            ${INTERNAL_MS('_timescaledb_functions.cagg_watermark(mat_hypertable_id)')} AS watermark
     FROM _timescaledb_catalog.continuous_agg WHERE user_view_schema = $1`,
    [schema],
  )
  // Stryker restore StringLiteral
  for (const c of caggs.rows as Array<{ view: string; materialized_only: boolean; mat: number; raw: number; watermark: number }>) {
    const toMs = INTERNAL_MS
    // Stryker disable StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    const logs = await db.query(
      `SELECT ${toMs('lowest_modified_value')} AS lo, ${toMs('greatest_modified_value')} AS hi FROM _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log WHERE hypertable_id = $1
       UNION ALL
       SELECT ${toMs('lowest_modified_value')}, ${toMs('greatest_modified_value')} FROM _timescaledb_catalog.continuous_aggs_materialization_invalidation_log WHERE materialization_id = $2`,
      [c.raw, c.mat],
    )
    // Stryker restore StringLiteral
    const watermark = Number(c.watermark)
    out.set(c.view, {
      continuous: true,
      realtime: !c.materialized_only,
      watermarkMs: watermark,
      // Entries wholly at or above the watermark are the not-yet-materialized range itself.
      pending: (logs.rows as Array<{ lo: number; hi: number }>)
        .map((r) => [Number(r.lo), Number(r.hi)] as const)
        .filter(([lo]) => lo < watermark),
    })
  }
  return out
}
