import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import pg from 'pg'
import { readResult, runCli, runIdFrom, SHORT_RUN, tempResultsDir } from '../support/cli.js'
import { DASHBOARD_DIR } from '../support/dashboards.js'
import { requireService, uniqueName } from '../support/services.js'

// P8 on the real PostgreSQL: one short run passes with evidence; then, between the run and
// `iotbench verify`, one aggregate bucket is corrupted in the database, and a copy of the dashboards
// with one panel's SQL wrong is passed in with --dashboards: each fails P8 with the right evidence.
describe('P8 dashboard data against PostgreSQL', () => {
  const results = tempResultsDir()
  const schema = uniqueName('p8')
  let db: pg.Client | undefined
  after(async () => {
    if (db) {
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)
      await db.end().catch(() => undefined)
    }
  })

  test('a run passes P8 with evidence; a corrupted bucket and a broken panel fail it by name', async (t) => {
    const url = await requireService(t, 'database')
    const mqtt = await requireService(t, 'mqtt')
    if (!url || !mqtt) return
    const common = ['--database-url', url, '--db-schema', schema, '--results-dir', results]
    const r = await runCli(['run', '--profile', 'ci', ...SHORT_RUN, ...common, '--mqtt-url', mqtt, '--topic-prefix', `${schema}/`])
    const id = runIdFrom(r.stdout)
    const result = readResult(results, id)
    const p8 = result.properties.find((p: { id: string }) => p.id === 'P8')
    assert.ok(p8, 'the run reports P8')
    assert.equal(p8.pass, true, `${p8.summary}\n${JSON.stringify(p8.evidence, null, 2)}`)
    assert.match(p8.summary, /aggregate buckets equal the raw rows and the oracle/)
    assert.match(p8.summary, /policy jobs not applicable/)
    const checked = p8.evidence.aggregates.reduce((n: number, a: { checked: number }) => n + a.checked, 0)
    assert.equal(checked, result.counts.offered, 'one reading a simulated minute per device: one bucket per reading, every one compared')
    assert.equal(p8.evidence.dashboards.panels.length, 9)
    for (const p of p8.evidence.dashboards.panels) assert.equal(p.pass, true, `${p.panel}: ${p.detail}`)
    assert.match(readFileSync(join(results, id, 'junit.xml'), 'utf8'), /name="P8 dashboard data"/)

    // Corrupt one bucket of the aggregate only (the raw rows stay right): the view adds 1 to one
    // device's activity in one minute.
    db = new pg.Client({ connectionString: url, options: `-c search_path=${schema},public` })
    await db.connect()
    const target = (
      await db.query<{ device: string; bucket: Date; activity: number }>(
        `SELECT device, bucket, activity FROM collar_1m WHERE run_id = $1 ORDER BY device, bucket OFFSET 7 LIMIT 1`,
        [result.dbRunId],
      )
    ).rows[0]!
    const original = (await db.query<{ d: string }>(`SELECT pg_get_viewdef('collar_1m'::regclass) AS d`)).rows[0]!.d
    await db.query(`CREATE OR REPLACE VIEW collar_1m AS SELECT run_id, device, bucket, readings,
        CASE WHEN device = '${target.device}' AND bucket = '${target.bucket.toISOString()}' THEN activity + 1 ELSE activity END AS activity,
        rumination_min, eating_min, neck_temp_c, neck_temp_max_c, battery_pct FROM (${original.replace(/;\s*$/, '')}) v`)
    const v = await runCli(['verify', id, ...common])
    assert.equal(v.code, 3, `verify exit ${v.code}\n${v.stdout}\n${v.stderr}`)
    const verified = JSON.parse(readFileSync(join(results, id, 'verify.json'), 'utf8'))
    const bad = verified.properties.find((p: { id: string }) => p.id === 'P8')
    assert.equal(bad.pass, false)
    for (const other of verified.properties.filter((p: { id: string }) => ['P1', 'P2', 'P3', 'P7'].includes(p.id)))
      assert.equal(other.pass, true, `${other.id}: ${other.summary}`)
    const farm = target.device.split('-')[0]
    assert.match(
      bad.summary,
      new RegExp(
        `collar_1m ${target.device} \\(${farm}\\) bucket ${target.bucket.toISOString().replace(/\./g, '\\.')} activity: expected ${target.activity}`,
      ),
    )
    const byAgainst = Object.fromEntries(bad.evidence.mismatches.map((m: { against: string }) => [m.against, m]))
    assert.deepEqual(byAgainst['raw rows'], {
      aggregate: 'collar_1m',
      device: target.device,
      farm,
      bucket: target.bucket.toISOString(),
      against: 'raw rows',
      column: 'activity',
      expected: target.activity,
      found: target.activity + 1,
    })
    assert.equal(byAgainst.oracle.found, target.activity + 1)
    assert.equal(bad.evidence.mismatches.length, 2, 'exactly that bucket, against the raw rows and the oracle')
    // The farm panels read collar_1m: the activity panel shows the wrong farm mean at that minute.
    const activity = bad.evidence.dashboards.panels.find((p: { panel: string }) => p.panel.startsWith('Activity index'))
    assert.equal(activity.pass, false)
    assert.match(activity.differences[0].row, new RegExp(`${target.bucket.toISOString().replace(/\./g, '\\.')} \\| ${farm}`))
    assert.match(
      readFileSync(join(results, id, 'junit.xml'), 'utf8'),
      /<testcase classname="iotbench.ci" name="P8 dashboard data" time="0">\s*<failure message="[^"]*collar_1m/,
    )

    // Restore the view, break one panel of a copy of the dashboards.
    await db.query(`CREATE OR REPLACE VIEW collar_1m AS ${original}`)
    const dir = mkdtempSync(join(tmpdir(), 'iotbench-dashboards-'))
    cpSync(DASHBOARD_DIR, dir, { recursive: true })
    const file = join(dir, 'iotbench-farms.json')
    const json = JSON.parse(readFileSync(file, 'utf8'))
    const panel = json.panels.find((p: { title: string }) => p.title.startsWith('Hottest cow'))
    panel.targets[0].rawSql = panel.targets[0].rawSql.replace('max(a.neck_temp_max_c)', 'avg(a.neck_temp_max_c)')
    writeFileSync(file, JSON.stringify(json, null, 2))
    const broken = await runCli(['verify', id, ...common, '--dashboards', dir])
    assert.equal(broken.code, 3, `verify exit ${broken.code}\n${broken.stdout}\n${broken.stderr}`)
    const again = JSON.parse(readFileSync(join(results, id, 'verify.json'), 'utf8')).properties.find((p: { id: string }) => p.id === 'P8')
    assert.equal(again.pass, false)
    assert.match(again.summary, /1 of 9 dashboard queries wrong: "Hottest cow per farm \(°C\)" \(\d+ of \d+ rows differ from the oracle's /)
    assert.equal(again.evidence.mismatches.length, 0, 'the aggregates themselves are right again')
    const wrong = again.evidence.dashboards.panels.filter((p: { pass: boolean }) => !p.pass)
    assert.deepEqual(
      wrong.map((p: { panel: string }) => p.panel),
      ['Hottest cow per farm (°C)'],
    )
    assert.ok(wrong[0].differences.length > 0)

    // A panel with no data fails too, naming the panel.
    panel.targets[0].rawSql = panel.targets[0].rawSql.replace("r.name = '${run}'", "r.name = 'no-such-run'")
    writeFileSync(file, JSON.stringify(json, null, 2))
    const empty = await runCli(['verify', id, ...common, '--dashboards', dir])
    assert.equal(empty.code, 3)
    assert.match(empty.stdout, /FAIL P8 dashboard data: .*"Hottest cow per farm \(°C\)" \(no data for this run\)/)
  })
})
