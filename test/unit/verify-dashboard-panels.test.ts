/**
 * P8's panel queries (src/verify/dashboard-panels.ts), field by field: every macro, interval unit and
 * variable format Grafana's PostgreSQL datasource fills, and which queries of a dashboard folder are
 * read (nested rows, the datasource from the target or the panel, variables and their flags).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fillPanelSql, loadSqlPanels, type PanelContext } from '../../src/verify/dashboard-panels.js'

const ctx: PanelContext = {
  schemaSql: '"s1"',
  values: new Map([
    ['run', ["r'1"]],
    ['farm', ['farm01', 'farm02']],
  ]),
  variables: new Map([
    ['run', { name: 'run', multi: false, includeAll: false }],
    ['farm', { name: 'farm', multi: false, includeAll: true }],
  ]),
  fromMs: 90_500,
  toMs: 3_600_000,
}

describe('fillPanelSql', () => {
  test('each variable format: quoted lists, raw and csv values, single values as they are', () => {
    assert.equal(
      fillPanelSql('${farm:sqlstring}|${farm:singlequote}|${farm:csv}|${farm:raw}|${farm}|$farm|[[farm]]', ctx),
      [
        "'farm01','farm02'",
        "'farm01','farm02'",
        'farm01,farm02',
        'farm01,farm02',
        "'farm01','farm02'",
        "'farm01','farm02'",
        "'farm01','farm02'",
      ].join('|'),
    )
    assert.equal(fillPanelSql("'${run}' ${run:sqlstring}", ctx), "'r'1' 'r''1'")
    const multi = { ...ctx, variables: new Map([['farm', { name: 'farm', multi: true, includeAll: false }]]) }
    assert.equal(fillPanelSql('$farm', multi), "'farm01','farm02'")
    const plain = { ...ctx, variables: new Map() }
    assert.equal(fillPanelSql('$farm', plain), 'farm01,farm02', 'a variable the dashboards do not declare: as it is')
    assert.throws(() => fillPanelSql('${farm:json}', ctx), /the variable format \$\{farm:json\} is not supported by P8/)
  })

  test('each time macro, and the schema prefix', () => {
    assert.equal(
      fillPanelSql('$__timeFrom()|$__timeTo()|$__unixEpochFilter( t )|$__time( ts )|$__timeFilter( b )|iotbench.runs|xiotbench.runs', ctx),
      "'1970-01-01T00:01:30.500Z'::timestamptz|'1970-01-01T01:00:00.000Z'::timestamptz|t >= 90 AND t <= 3600|ts AS \"time\"|" +
        "b BETWEEN '1970-01-01T00:01:30.500Z'::timestamptz AND '1970-01-01T01:00:00.000Z'::timestamptz|\"s1\".runs|xiotbench.runs",
    )
  })

  test('interval units, $__interval as a minute, a quoted interval; an unreadable one is an error', () => {
    const bucket = (iv: string) => fillPanelSql(`$__timeGroup(ts,${iv})`, ctx)
    const by = (s: number) => `to_timestamp(floor(extract(epoch FROM ts) / ${s}) * ${s})`
    assert.equal(bucket('500ms'), by(0.5))
    assert.equal(bucket('15s'), by(15))
    assert.equal(bucket(" '10m' "), by(600))
    assert.equal(bucket('2h'), by(7200))
    assert.equal(bucket('1d'), by(86400))
    assert.equal(bucket(' $__interval'), by(60))
    for (const bad of ['5', 'm', '1w', '1m x', 'x1m']) assert.throws(() => bucket(bad), /cannot read the interval/, bad)
  })
})

describe('loadSqlPanels', () => {
  test('every PostgreSQL query of every dashboard file, nested rows included; variables with their flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotbench-panels-'))
    const pg = { type: 'grafana-postgresql-datasource' }
    writeFileSync(
      join(dir, 'b.json'),
      JSON.stringify({
        title: 'Farm',
        templating: { list: [{ name: 'farm', multi: true }, { name: 'run', includeAll: true }, { name: 'x' }] },
        panels: [
          { title: 'A', datasource: pg, targets: [{ refId: 'Q', rawSql: 'SELECT 1' }, { rawSql: 'SELECT 2' }, { refId: 'N' }] },
          { title: 'Prom', datasource: { type: 'prometheus' }, targets: [{ rawSql: 'SELECT 3' }] },
          { title: 'Mixed', datasource: { type: 'prometheus' }, targets: [{ rawSql: 'SELECT 4', datasource: { type: 'postgres' } }] },
          { title: 'Row', panels: [{ datasource: pg, targets: [{ rawSql: 'SELECT 5' }] }] },
          { title: 'Unset', targets: [{ rawSql: 'SELECT 6' }] },
        ],
      }),
    )
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ panels: [{ title: 'Z', datasource: pg, targets: [{ rawSql: 'SELECT 0' }] }] }))
    writeFileSync(join(dir, 'notes.txt'), 'not a dashboard')
    const { panels, variables, dashboards } = loadSqlPanels(dir)
    assert.equal(dashboards, 2)
    assert.deepEqual(panels, [
      { dashboard: 'a.json', panel: 'Z', refId: 'A', rawSql: 'SELECT 0' },
      { dashboard: 'Farm', panel: 'A', refId: 'Q', rawSql: 'SELECT 1' },
      { dashboard: 'Farm', panel: 'A', refId: 'A', rawSql: 'SELECT 2' },
      { dashboard: 'Farm', panel: 'Mixed', refId: 'A', rawSql: 'SELECT 4' },
      { dashboard: 'Farm', panel: '(untitled)', refId: 'A', rawSql: 'SELECT 5' },
    ])
    assert.deepEqual(
      [...variables.values()],
      [
        { name: 'farm', multi: true, includeAll: false },
        { name: 'run', multi: false, includeAll: true },
        { name: 'x', multi: false, includeAll: false },
      ],
    )
  })
})
