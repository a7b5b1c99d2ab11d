import type { SqlSession } from '../db/migrate.js'
import type { Device } from '../fleet.js'
import { AGGREGATES, type AggregateSpec, type Bucket } from './dashboard-aggregates.js'
import { FarmSeries, PANEL_MEANINGS } from './dashboard-panels.js'
import { must } from '../util/must.js'

/** Oracle buckets written to the temporary tables in one INSERT. */
const ORACLE_INSERT_ROWS = 5000

/** Receives the oracle's checked buckets (for the panels' oracle tables) and the times of unchecked ones. */
export interface OracleSink {
  add(spec: AggregateSpec, device: Device, b: Bucket): Promise<void>
  unchecked(t: number): void
}

/** Temporary tables shaped like the aggregates (and runs), holding the oracle's buckets: what a panel should read. */
export class OracleTables implements OracleSink {
  private readonly pending = new Map<string, Array<Record<string, unknown>>>()
  readonly uncheckedTimes = new Set<number>()
  /** The oracle's series of every declared panel meaning, by panel title. */
  readonly series = new Map(PANEL_MEANINGS.map((m) => [m.title, new FarmSeries(m)]))
  /** `tables`: write the oracle's buckets into temporary tables, for panels without a declared meaning. */
  constructor(
    private readonly db: SqlSession,
    private readonly runId: number,
    private readonly tables: boolean,
  ) {}

  async create(runName: string, startedAt: Date): Promise<void> {
    if (!this.tables) return
    await this.drop()
    // Stryker disable StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    await this.db.query(`CREATE TEMP TABLE runs (id int, name text, profile text, started_at timestamptz)`)
    await this.db.query(`INSERT INTO pg_temp.runs VALUES ($1, $2, '', $3)`, [this.runId, runName, startedAt])
    for (const a of AGGREGATES) {
      await this.db.query(
        `CREATE TEMP TABLE ${a.view} (run_id int, device text, bucket timestamptz, ${a.columns.map((c) => `${c.column} ${c.fn === 'count' ? 'bigint' : 'float8'}`).join(', ')})`,
      )
      // Stryker restore StringLiteral
    }
  }

  /** Per aggregate, the panel series that read each of its columns (routed once, not per bucket). */
  private readonly readers = new Map(
    AGGREGATES.map((a) => [a.view, a.columns.map((c) => [...this.series.values()].filter((f) => f.reads(a.view, c.column)))]),
  )

  async add(spec: AggregateSpec, device: Device, b: Bucket): Promise<void> {
    const readers = must(this.readers.get(spec.view), `the readers of ${spec.view}`)
    for (let i = 0; i < readers.length; i++) for (const f of readers[i]) f.add(device.farm, b.t, b.values[i] ?? null)
    if (!this.tables) return
    const rows = this.pending.get(spec.view) ?? []
    const row: Record<string, unknown> = { run_id: this.runId, device: device.id, bucket: new Date(b.t).toISOString() }
    spec.columns.forEach((c, i) => (row[c.column] = b.values[i]))
    rows.push(row)
    this.pending.set(spec.view, rows)
    if (rows.length >= ORACLE_INSERT_ROWS) await this.flush(spec.view)
  }

  unchecked(t: number): void {
    this.uncheckedTimes.add(t)
  }

  async flush(view?: string): Promise<void> {
    for (const [v, rows] of this.pending) {
      if ((view !== undefined && v !== view) || rows.length === 0) continue
      // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
      await this.db.query(`INSERT INTO pg_temp.${v} SELECT * FROM json_populate_recordset(NULL::pg_temp.${v}, $1::json)`, [
        JSON.stringify(rows),
      ])
      this.pending.set(v, [])
    }
  }

  /** Temporary tables named like the schema's would shadow them for this session: always dropped. */
  async drop(): Promise<void> {
    if (!this.tables) return
    // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    for (const t of ['runs', ...AGGREGATES.map((a) => a.view)]) await this.db.query(`DROP TABLE IF EXISTS pg_temp.${t}`)
  }
}
