import { deviceAt, fleetSize } from '../fleet.js'
import type { SqlSession } from '../db/migrate.js'
import { oracleFor } from '../sim/oracle.js'
import {
  BUCKET_MS,
  BucketAccumulator,
  columnSql,
  compareBuckets,
  type AggregateSpec,
  type Bucket,
  type BucketMismatch,
} from './dashboard-aggregates.js'
import type { RunManifest } from './types.js'
import { UnackedIndex } from './unacked.js'
import { isRefreshed, type RefreshState } from './dashboard-refresh.js'
import type { OracleSink } from './dashboard-oracle-tables.js'

/** Mismatched buckets named, per aggregate and in P8's evidence. */
export const MISMATCH_SAMPLES = 20
/** Buckets a cursor round trip brings (a row is ~20 numbers). */
const CURSOR_FETCH = 20_000

/**
 * Reads the P8 cursor a batch at a time (works on node-postgres and PGlite alike): one row per
 * (device, bucket) of the raw rows FULL JOINed with the aggregate, sorted by device. Columns: device,
 * t, has_raw, has_agg, same (the aggregate's bucket equals the raw one bit for bit), r0…rk (the raw
 * bucket), a0…ak (the aggregate's bucket, NULL when same: most buckets cross the wire once).
 */
class BucketCursor {
  private rows: Array<Record<string, unknown>> = []
  private i = 0
  private done = false
  private readonly raw: string[]
  private readonly agg: string[]
  constructor(
    private readonly db: SqlSession,
    private readonly name: string,
    columns: number,
  ) {
    this.raw = Array.from({ length: columns }, (_, k) => `r${k}`)
    this.agg = Array.from({ length: columns }, (_, k) => `a${k}`)
  }
  async peek(): Promise<Record<string, unknown> | undefined> {
    if (this.i < this.rows.length) return this.rows[this.i]
    if (this.done) return undefined
    // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    this.rows = (await this.db.query(`FETCH ${CURSOR_FETCH} FROM ${this.name}`)).rows
    this.i = 0
    if (this.rows.length < CURSOR_FETCH) this.done = true
    return this.rows[0]
  }
  /** The buckets of one device (the cursor is sorted by device): the raw rows' and the aggregate's. */
  async take(device: string): Promise<{ raw: Bucket[]; agg: Bucket[] }> {
    const raw: Bucket[] = []
    const agg: Bucket[] = []
    const num = (x: unknown): number | null => (x === null ? null : Number(x))
    for (let r = await this.peek(); r && r.device === device; r = await this.peek()) {
      const t = Number(r.t)
      const rawBucket = r.has_raw ? { t, values: this.raw.map((k) => num(r[k])) } : undefined
      if (rawBucket) raw.push(rawBucket)
      if (r.has_agg) agg.push(r.same && rawBucket ? rawBucket : { t, values: this.agg.map((k) => num(r[k])) })
      this.i++
    }
    return { raw, agg }
  }
  async skipBefore(device: string): Promise<string[]> {
    const skipped: string[] = []
    for (let r = await this.peek(); r && String(r.device) < device; r = await this.peek()) {
      if (skipped[skipped.length - 1] !== r.device) skipped.push(String(r.device))
      this.i++
    }
    return skipped
  }
}

export interface AggregateReport {
  readonly aggregate: string
  readonly continuous: boolean
  readonly oracleBuckets: number
  readonly aggregateBuckets: number
  /** Buckets compared three ways (aggregate, raw, oracle). */
  readonly checked: number
  readonly notRefreshed: number
  /** Buckets holding a reading the source never saw acknowledged (may or may not be stored). */
  readonly uncertain: number
  /** Buckets older than the retention window (the policy may already have dropped them). */
  readonly pastRetention: number
  readonly mismatchCount: number
  readonly mismatches: BucketMismatch[]
  readonly firstBucket?: string
  readonly lastBucket?: string
}

/**
 * One aggregate of one run: a cursor over the aggregate and one over the raw rows grouped by the same
 * bucket, both sorted by device, merged device by device with the oracle's buckets for that device.
 */
export async function checkAggregate(
  db: SqlSession,
  schemaSql: string,
  runId: number,
  manifest: RunManifest,
  spec: AggregateSpec,
  refresh: RefreshState,
  retentionCutoffMs: number | undefined,
  sink?: OracleSink,
): Promise<AggregateReport> {
  // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const bucketExpr = refresh.continuous ? `time_bucket(INTERVAL '1 minute', ts)` : `date_trunc('minute', ts)`
  const rid = Number(runId)
  const devices = Array.from({ length: fleetSize(manifest.fleet) }, (_, i) => deviceAt(manifest.fleet, i))
    .filter((d) => d.kind === spec.kind)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const oracle = oracleFor(manifest)
  const unacked = new UnackedIndex(manifest.unacked)
  const mismatches: BucketMismatch[] = []
  let mismatchCount = 0
  const note = (list: BucketMismatch[]): void => {
    mismatchCount += list.length
    for (const m of list) if (mismatches.length < MISMATCH_SAMPLES) mismatches.push(m)
  }
  let oracleBuckets = 0,
    aggregateBuckets = 0,
    checked = 0,
    notRefreshed = 0,
    uncertain = 0,
    pastRetention = 0
  let first = Infinity,
    last = -Infinity

  const k = spec.columns.length
  // Stryker disable all: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const each = (f: (i: number) => string): string => Array.from({ length: k }, (_, i) => f(i)).join(', ')
  const rawSql = `SELECT device, ${bucketExpr} AS b, ${each((i) => `(${columnSql(spec.columns[i], spec.kind)})::float8 AS v${i}`)}
    FROM ${schemaSql}.${spec.table} WHERE run_id = ${rid} GROUP BY device, b`
  const aggSql = `SELECT device, bucket AS b, ${each((i) => `(${spec.columns[i].column})::float8 AS v${i}`)} FROM ${schemaSql}.${spec.view} WHERE run_id = ${rid}`
  // One pass: the raw rows grouped by bucket, FULL JOINed with the aggregate. The aggregate's values
  // are shipped only where they differ from the raw ones by a bit (the comparison below then applies
  // the tolerance), so a run's buckets are read and parsed once, not twice.
  const cursorSql = `SELECT device, t, has_raw, has_agg, same, ${each((i) => `r${i}`)}, ${each((i) => `CASE WHEN same THEN NULL ELSE a${i} END AS a${i}`)}
      FROM (SELECT coalesce(r.device, a.device) AS device, (extract(epoch FROM coalesce(r.b, a.b)) * 1000)::float8 AS t,
              r.device IS NOT NULL AS has_raw, a.device IS NOT NULL AS has_agg,
              ROW(${each((i) => `r.v${i}`)}) IS NOT DISTINCT FROM ROW(${each((i) => `a.v${i}`)}) AS same,
              ${each((i) => `r.v${i} AS r${i}`)}, ${each((i) => `a.v${i} AS a${i}`)}
            FROM (${rawSql}) r FULL JOIN (${aggSql}) a ON a.device = r.device AND a.b = r.b) x
      ORDER BY device COLLATE "C", t`
  // Stryker restore all
  // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ')
  try {
    // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    await db.query(`DECLARE p8_buckets NO SCROLL CURSOR FOR ${cursorSql}`)
    const cursor = new BucketCursor(db, 'p8_buckets', k)
    const foreign = async (device: string): Promise<void> => {
      for (const d of await cursor.skipBefore(device)) {
        note([
          {
            aggregate: spec.view,
            device: d,
            farm: d.split('-')[0] ?? '',
            bucket: '*',
            against: 'oracle',
            column: '*',
            expected: 'no bucket',
            found: 1,
          },
        ])
      }
    }
    for (const device of devices) {
      await foreign(device.id)
      const acc = new BucketAccumulator(spec)
      for (let seq = 0; seq < manifest.perDevice; seq++) acc.add(oracle.expected(device, seq), unacked.has(device.index, seq))
      const expected = acc.buckets()
      const { raw: rawBuckets, agg: found } = await cursor.take(device.id)
      const past = (t: number): boolean => retentionCutoffMs !== undefined && t + BUCKET_MS <= retentionCutoffMs
      const fresh = (t: number): boolean => isRefreshed(refresh, t)
      const unsure = (t: number): boolean => acc.uncertain.has(t) || past(t)
      note(compareBuckets(spec, device, 'oracle', expected, rawBuckets, unsure).map((m) => ({ ...m, aggregate: spec.table })))
      note(compareBuckets(spec, device, 'raw rows', rawBuckets, found, (t) => !fresh(t)))
      note(compareBuckets(spec, device, 'oracle', expected, found, (t) => !fresh(t) || unsure(t)))
      oracleBuckets += expected.length
      aggregateBuckets += found.length
      for (const b of expected) {
        first = Math.min(first, b.t)
        last = Math.max(last, b.t)
        const ok = fresh(b.t) && !unsure(b.t)
        if (ok) {
          checked++
          await sink?.add(spec, device, b)
        } else {
          sink?.unchecked(b.t)
          if (!fresh(b.t)) notRefreshed++
          else if (past(b.t)) pastRetention++
          else uncertain++
        }
      }
    }
    await foreign('\u{10FFFF}')
    // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    await db.query('COMMIT')
  } catch (err) {
    // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    await db.query('ROLLBACK').catch(() => undefined)
    throw err
  }
  return {
    aggregate: spec.view,
    continuous: refresh.continuous,
    oracleBuckets,
    aggregateBuckets,
    checked,
    notRefreshed,
    uncertain,
    pastRetention,
    mismatchCount,
    mismatches,
    ...(Number.isFinite(first) && { firstBucket: new Date(first).toISOString(), lastBucket: new Date(last).toISOString() }),
  }
}
